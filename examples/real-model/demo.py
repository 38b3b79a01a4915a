"""`make demo-real`: a mitigation A/B on a real model, end to end, in a few minutes on 2 cores.

It starts SmolLM2-135M-Instruct (llama-cpp-python's OpenAI-compatible server, from the real-model
virtualenv `make` builds) on 127.0.0.1, then runs asr-gate exactly as a user would:

1. `asr-gate run --target defended.yaml --baseline-target plain.yaml`: the same attacks against the
   application with its plain system prompt and with the defended one, at the same time;
2. `asr-gate compare --format markdown`: the verdict and the PR comment a pull request would get.

The model is tiny and its numbers say little about real applications; what the demo shows is the
mechanics: the application's system prompt composed into every request, repeated attempts, and a
verdict that states its uncertainty. The sizes (attacks x attempts) fit about 0.7 replies/s.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "real"))

from realmodel import LlamaServer, free_port  # noqa: E402

SUITE = REPO / "suites" / "prompt-injection.yaml"
DEFAULT_PORT = 8765


def _port() -> int:
    import socket

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", DEFAULT_PORT))
            return DEFAULT_PORT
        except OSError:
            return free_port()


def _targets(out: Path, port: int) -> tuple[Path, Path]:
    """Copies of the example targets pointing at this run's port (the prompt file travels with them)."""
    out.mkdir(parents=True, exist_ok=True)
    for name in ("plain.yaml", "defended.yaml"):
        text = (HERE / name).read_text(encoding="utf-8").replace(f"127.0.0.1:{DEFAULT_PORT}", f"127.0.0.1:{port}")
        (out / name).write_text(text, encoding="utf-8")
    shutil.copy(HERE / "defended-prompt.txt", out / "defended-prompt.txt")
    return out / "plain.yaml", out / "defended.yaml"


def _asr_gate(*args: str) -> int:
    print(f"\n$ asr-gate {' '.join(args)}", flush=True)
    return subprocess.call([sys.executable, "-m", "gate.cli", *args], cwd=REPO)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(REPO / "asr-gate-demo-real"), help="output directory")
    ap.add_argument("--category", action="append", default=["override", "boundary"],
                    help="suite categories to run (default: override, boundary)")
    ap.add_argument("--attempts", default="3", help="attempts per attack (default 3)")
    args = ap.parse_args()

    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    port = _port()
    plain, defended = _targets(out, port)
    print(f"starting SmolLM2-135M-Instruct (llama.cpp) on 127.0.0.1:{port} ...", flush=True)
    t0 = time.monotonic()
    with LlamaServer(port, log_path=str(out / "server.log")):
        print(f"model ready in {time.monotonic() - t0:.0f} s", flush=True)
        selection = [x for c in args.category for x in ("--category", c)]
        code = _asr_gate("run", "--suite", os.path.relpath(SUITE, REPO), "--target", str(defended),
                         "--baseline-target", str(plain), "--out", str(out / "ab"), "--attempts", args.attempts,
                         *selection)
    if code not in (0, 1):
        print(f"\nthe A/B run ended with exit code {code}; see above", file=sys.stderr)
        return code
    comment = out / "comment.md"
    _asr_gate("compare", "--baseline", str(out / "ab" / "baseline" / "results.json"),
              "--results", str(out / "ab" / "candidate" / "results.json"), "--format", "markdown",
              "--out", str(comment))
    print("\n--- the PR comment (raw Markdown) ---\n")
    print(comment.read_text(encoding="utf-8"))
    print(f"total {time.monotonic() - t0:.0f} s; files in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
