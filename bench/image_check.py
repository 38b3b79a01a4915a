"""Run inside the action's image (bench/build_image.sh does): prove that what the Dockerfile deletes and
strips was not needed.

1. every compiled extension module (*.so) under site-packages imports, all in one interpreter, in name
   order (a stripped or damaged shared object fails to load; a deleted pure-Python dependency fails too);
2. the modules the action loads import: gate.action, gate.stats, scipy.stats, scipy.optimize, numpy,
   github, jsonschema, yaml (with its C loader), requests, and the crypto that PyGithub's app
   authentication uses (PyJWT RS256 over cryptography) and PyNaCl.

Exit 0 when all pass; otherwise one line per failure and exit 1. Prints how long the imports took, so the
cost of a cold import without __pycache__ is visible too.
"""
from __future__ import annotations

import importlib
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

ACTION_IMPORTS = """
import gate.action, gate.stats, gate.cli, gate.run.runner, gate.run.sequential
import scipy.stats, scipy.optimize, numpy, github, jsonschema, yaml, requests
assert yaml.CSafeLoader is not None and yaml.__with_libyaml__
from gate import stats
assert abs(stats.exact_2x2([[7, 12], [8, 3]], alternative="less", method="barnard").p_value - 0.03407) < 1e-3
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
assert jwt.decode(jwt.encode({"iss": "1"}, key, algorithm="RS256"), key.public_key(), algorithms=["RS256"])
from nacl.public import PrivateKey, SealedBox
k = PrivateKey.generate()
assert SealedBox(k).decrypt(SealedBox(k.public_key).encrypt(b"x")) == b"x"
"""

#: extension modules that do not import on their own without the clean-up either (the image built from
#: the previous Dockerfile, and a plain `pip install scipy==1.17.1`): no sign of anything removed
KNOWN_UNIMPORTABLE = {
    # scipy 1.17: imports `within_block_loop` from itself and fails ("partially initialized module")
    "scipy.linalg._matfuncs_sqrtm_triu",
}


def extension_modules(site: Path) -> list[str]:
    names = []
    for so in sorted(site.rglob("*.so")):
        rel = so.relative_to(site)
        if any(part.endswith((".libs", ".dist-info", ".data")) for part in rel.parts[:-1]):
            continue  # vendored shared libraries, not Python modules
        stem = rel.name.split(".", 1)[0]  # _foo.cpython-311-x86_64-linux-gnu.so / _foo.abi3.so -> _foo
        name = ".".join(rel.parts[:-1] + (stem,))
        if name not in KNOWN_UNIMPORTABLE:
            names.append(name)
    return names


def import_all(modules: list[str]) -> list[str]:
    failures = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - report every failure, then fail
            failures.append(f"{name}: {type(exc).__name__}: {exc}")
    return failures


def main() -> int:
    site = Path(sysconfig.get_path("platlib"))
    modules = extension_modules(site)
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-P", __file__, "--import-all"], capture_output=True, text=True)
    failures = [line for line in res.stdout.splitlines() if line]
    if res.returncode and not failures:
        failures = [f"importing the extension modules crashed: {res.stderr.strip()[-300:]}"]
    print(f"extension modules: {len(modules) - len(failures)}/{len(modules)} import "
          f"({time.perf_counter() - t0:.1f} s)")
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-P", "-c", ACTION_IMPORTS], capture_output=True, text=True)
    if res.returncode:
        failures.append(f"action imports: {(res.stderr.strip().splitlines() or ['?'])[-1]}")
    else:
        print(f"action imports and checks: ok ({time.perf_counter() - t0:.1f} s)")
    for line in failures:
        print("FAILED", line)
    return 1 if failures else 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--import-all"]:
        for failure in import_all(extension_modules(Path(sysconfig.get_path("platlib")))):
            print(failure)
        sys.exit(0)
    sys.exit(main())
