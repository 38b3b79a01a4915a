"""Contract-test infrastructure for gate/publish/github.py: Prism on GitHub's OpenAPI description, and a stateful fake.

* `prism` (session): `prism mock --errors` from node_modules (installed by `make test`, or by
  `npm ci` here when missing) on 127.0.0.1 and a free port, serving `openapi.github.trimmed.json`
  with its example URLs pointed at that port. Prism validates every request against the
  description and answers 422 to an invalid one (and 500 when a response would violate it);
  `Prism.requests_since` / `Prism.errors_since` read its log.
* `gh_prism`: a `GitHubClient` bound to Prism; the test fails if Prism logged any violation.
* `fake` (per test): `fake_github.FakeGitHub` with three tokens (see TOKENS); the test fails if the
  fake recorded a request or response that violates the same description.

Set ASR_GATE_SKIP_PRISM=1 to skip the Prism tests on a machine without Node.js (CI must not).
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from fake_github import PLACEHOLDER_BASE, SPEC_PATH, FakeGitHub  # noqa: E402
from gh_contract import ACTIONS_TOKEN, REPO, TOKENS  # noqa: E402

REPO_ROOT = HERE.parents[1]
PRISM_BIN = REPO_ROOT / "node_modules" / ".bin" / "prism"


def ensure_node_modules() -> Path:
    """node_modules/.bin/prism, running `npm ci` first when it is missing (the Makefile normally has)."""
    if PRISM_BIN.exists():
        return PRISM_BIN
    if os.environ.get("ASR_GATE_SKIP_PRISM") == "1":
        pytest.skip("ASR_GATE_SKIP_PRISM=1 and node_modules/ is not installed")
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("the GitHub contract tests need Node.js and npm (then `npm ci`); "
                    "set ASR_GATE_SKIP_PRISM=1 to skip them")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=REPO_ROOT, check=True)
    return PRISM_BIN


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_REQUEST_LINE = re.compile(r"\[HTTP SERVER\] (\w+) (\S+) ℹ\s+info\s+Request received")


@dataclass
class Prism:
    url: str
    process: subprocess.Popen
    log_path: Path
    startup_seconds: float

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def mark(self) -> int:
        """A position in the log; pass it to requests_since / errors_since."""
        time.sleep(0.05)  # Prism logs asynchronously
        return len(self.log())

    def _since(self, mark: int) -> str:
        time.sleep(0.05)
        return self.log()[mark:]

    def requests_since(self, mark: int) -> list[tuple[str, str]]:
        """(METHOD, path) of every request Prism received since mark."""
        return [(m.group(1).upper(), m.group(2)) for m in _REQUEST_LINE.finditer(self._since(mark))]

    def errors_since(self, mark: int) -> list[str]:
        """Log lines marked ✖ (a request or response that violates the description, or no route)."""
        return [line.strip() for line in self._since(mark).splitlines() if "✖" in line]


def _wait_ready(url: str, process: subprocess.Popen, deadline: float) -> None:
    probe = urllib.request.Request(f"{url}/user", headers={"Authorization": "token probe"})
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prism exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(probe, timeout=1) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.05)
    raise RuntimeError("prism did not become ready in time")


@pytest.fixture(scope="session")
def prism(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prism]:
    prism_bin = ensure_node_modules()
    workdir = tmp_path_factory.mktemp("prism")
    last_error: Exception | None = None
    for _attempt in range(3):  # the free port may be taken between choosing and binding it
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        spec = workdir / f"github-{port}.json"
        spec.write_text(SPEC_PATH.read_text(encoding="utf-8").replace(PLACEHOLDER_BASE, url), encoding="utf-8")
        log_path = workdir / f"prism-{port}.log"
        with open(log_path, "wb") as log_file:
            started = time.monotonic()
            process = subprocess.Popen(
                [str(prism_bin), "mock", "--errors", "--host", "127.0.0.1", "--port", str(port), str(spec)],
                cwd=REPO_ROOT, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env={**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0"},
            )
        try:
            _wait_ready(url, process, started + 60)
        except RuntimeError as exc:
            last_error = exc
            _stop(process)
            continue
        server = Prism(url=url, process=process, log_path=log_path, startup_seconds=time.monotonic() - started)
        try:
            yield server
        finally:
            _stop(process)
        return
    tail = log_path.read_text(errors="replace")[-3000:]
    pytest.fail(f"could not start prism: {last_error}\n{tail}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture
def gh_prism(prism: Prism):
    """A GitHubClient on Prism (Actions token); fails the test if Prism logged a violation."""
    from gate.publish import github as gg

    mark = prism.mark()
    yield gg.connect(ACTIONS_TOKEN, prism.url, REPO, write_throttle=False, retries=0)
    errors = prism.errors_since(mark)
    assert not errors, "Prism reported violations of GitHub's OpenAPI description:\n" + "\n".join(errors)


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    """A fresh stateful fake GitHub; fails the test on any request/response that violates the description."""
    with FakeGitHub(*REPO.split("/")) as server:
        for token, (login, app, write) in TOKENS.items():
            server.add_token(token, login, app=app, write=write)
        yield server
        assert not server.violations, "requests violating GitHub's OpenAPI description:\n" + "\n".join(
            server.violations)
        assert not server.response_violations, "fake responses violating the description:\n" + "\n".join(
            server.response_violations)
