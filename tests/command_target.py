"""A tiny program for `kind: command` tests. Reads the request JSON on stdin; the mode is argv[1].

    echo              print "ECHO[<attack_id>#<attempt>]: <prompt>"
    json              print {"result": {"text": "ECHO: <prompt>"}, "n_messages": N}
    fail              write two lines to stderr, exit 3
    sleep SECONDS [PIDFILE]  write its pid to PIDFILE, sleep, then echo (for timeouts)
    huge BYTES        write BYTES bytes of "A" to stdout
    env NAME          print the value of NAME (or <unset>)
    fake URL          POST {"prompt": ...} to URL (the fake server's /generic) and print output.text
"""
import json
import os
import sys
import time
import urllib.request


def main() -> int:
    mode = sys.argv[1]
    request = json.loads(sys.stdin.read() or "{}")
    prompt = request.get("prompt", "")
    if mode == "echo":
        print(f"ECHO[{request.get('attack_id')}#{request.get('attempt')}]: {prompt}")
    elif mode == "json":
        print(json.dumps({"result": {"text": "ECHO: " + prompt}, "n_messages": len(request.get("messages", []))}))
    elif mode == "fail":
        sys.stderr.write("starting\nboom: the model backend is down\n")
        return 3
    elif mode == "sleep":
        if len(sys.argv) > 3:
            with open(sys.argv[3], "w") as fh:
                fh.write(str(os.getpid()))
        time.sleep(float(sys.argv[2]))
        print("ECHO: " + prompt)
    elif mode == "huge":
        n = int(sys.argv[2])
        block = b"A" * 65536
        out = sys.stdout.buffer
        while n > 0:
            out.write(block[: min(n, len(block))])
            n -= len(block)
        out.flush()
    elif mode == "env":
        print(os.environ.get(sys.argv[2], "<unset>"))
    elif mode == "fake":
        data = json.dumps({"prompt": prompt}).encode()
        req = urllib.request.Request(sys.argv[2], data=data, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            print(json.loads(resp.read())["output"]["text"])
    else:
        sys.stderr.write(f"unknown mode {mode}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
