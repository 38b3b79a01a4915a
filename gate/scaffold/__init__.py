"""`asr-gate init`: the files a repository needs to gate its pull requests, written once and never overwritten.

It writes the workflow (pinned actions, least-privilege permissions), a target file (`openai` with
`api_key_env` and `system_prompt_file`), the prompt file, a policy file whose every default is spelled out
and commented (generated from the policy schema, so it cannot drift from what `compare` does), copies of
the chosen built-in suites (with the corpus files they import), and `baselines/README.md`.

Non-interactive by design (CI, no TTY). An existing file with other content is kept and reported;
`force=True` overwrites it. A second run with the same options changes nothing.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

import yaml

from .. import __version__
from ..errors import UsageError
from ..safe_files import write_text

DEFAULT_SUITES = ("prompt-injection", "system-prompt-extraction")
DEFAULT_DIR = ".github/asr-gate"
DEFAULT_ACTION = f"asr-gate/asr-gate@v{__version__}"
RUNNER_SETUP = """
      # The model or application this pull request builds, started on the runner (runner mode reaches
      # 127.0.0.1). Replace with your own start command and point target.yaml's base_url at it.
      # - run: ./scripts/start-model-server.sh &
"""


@dataclass(frozen=True)
class Written:
    path: str
    status: str  # written | unchanged | kept (exists with other content) | overwritten


def builtin_suites_dir() -> Path:
    """The built-in suites of a source checkout or an editable install (`suites/` beside `gate/`)."""
    here = Path(__file__).resolve().parents[2] / "suites"
    if not here.is_dir():
        raise UsageError("the built-in suites (suites/) are not beside this installation of asr-gate; run "
                         "`asr-gate init` from a clone of the asr-gate repository (pip install -e .)")
    return here


def builtin_suite_names() -> list[str]:
    return sorted(p.stem for p in builtin_suites_dir().glob("*.yaml"))


def _template(name: str) -> str:
    return resources.files(__package__).joinpath("templates", name).read_text(encoding="utf-8")


def _fill(text: str, values: dict[str, str]) -> str:
    for k, v in values.items():
        text = text.replace("{{" + k + "}}", v)
    return text


def policy_text() -> str:
    """The policy with every default written out and commented, from gate/schemas/policy.json."""
    schema = json.loads(resources.files("gate").joinpath("schemas", "policy.json").read_text(encoding="utf-8"))
    out = ["# How `asr-gate compare` turns the baseline and this run into a verdict (written by `asr-gate init`).",
           "# Every value below is the default; change one to change the rule. Statistics: see docs/statistics.md",
           "# in the asr-gate repository.", ""]
    for key, spec in schema["properties"].items():
        out += [f"# {line}" for line in _wrap(spec.get("description", ""))]
        if "default" in spec:
            out.append(f"{key}: {json.dumps(spec['default'])}")
        else:
            out.append(f"# {key}:   (unset by default)")
        out.append("")
    return "\n".join(out)


def _wrap(text: str, width: int = 100) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return lines + ([line] if line else [])


def _suite_files(names: Iterable[str], directory: str) -> dict[str, str]:
    """Each chosen suite and the files it imports, at the same relative places under `directory`/suites."""
    src = builtin_suites_dir()
    known = builtin_suite_names()
    files: dict[str, str] = {}
    for name in names:
        if name not in known:
            raise UsageError(f"--suite {name}: no such built-in suite (built in: {', '.join(known)})")
        path = src / f"{name}.yaml"
        text = path.read_text(encoding="utf-8")
        files[f"{directory}/suites/{name}.yaml"] = text
        for rel in _imported_files(yaml.safe_load(text)):
            files[f"{directory}/suites/{rel}"] = (src / rel).read_text(encoding="utf-8")
    return files


def _imported_files(doc: Any) -> list[str]:
    imports = doc.get("import") if isinstance(doc, dict) else None
    if isinstance(imports, dict):
        imports = [imports]
    return [i["file"] for i in imports or () if isinstance(i, dict) and isinstance(i.get("file"), str)]


def plan(*, suites: Iterable[str] = DEFAULT_SUITES, runner_mode: bool = False, action: str | None = None,
         key_env: str = "OPENAI_API_KEY", directory: str = DEFAULT_DIR) -> dict[str, str]:
    """Relative path → content of every file `init` writes."""
    names = list(dict.fromkeys(suites))
    if not names:
        raise UsageError("choose at least one suite (--suite NAME)")
    ref = action or (DEFAULT_ACTION.replace("@", "/runner@") if runner_mode else DEFAULT_ACTION)
    values = {"SUITES": ", ".join(names), "ACTION": ref, "KEY_ENV": key_env, "DIR": directory,
              "SETUP": RUNNER_SETUP if runner_mode else ""}
    files = {
        ".github/workflows/asr-gate.yml": _fill(_template("workflow.yml"), values),
        f"{directory}/target.yaml": _fill(_template("target.yaml"), values),
        f"{directory}/system-prompt.txt": _template("system-prompt.txt"),
        f"{directory}/policy.yaml": policy_text(),
        "baselines/README.md": _fill(_template("baselines-README.md"), values),
    }
    files.update(_suite_files(names, directory))
    return files


def write(root: str | os.PathLike, files: dict[str, str], *, force: bool = False) -> list[Written]:
    """Write `files` under `root`; never replace a file with other content unless `force`."""
    out = []
    for rel, text in files.items():
        path = Path(root) / rel
        if path.is_symlink():
            raise UsageError(f"{rel} is a symbolic link; asr-gate init does not write through links")
        old = path.read_text(encoding="utf-8") if path.is_file() else None
        if old == text:
            out.append(Written(rel, "unchanged"))
            continue
        if old is not None and not force:
            out.append(Written(rel, "kept"))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(str(path), text)  # renamed into place: a link made after the check above is replaced
        out.append(Written(rel, "overwritten" if old is not None else "written"))
    return out


NEXT_STEPS = """next steps:
  1. a first baseline: run the suites on the accepted model and commit baselines/<suite>.json
     (baselines/README.md shows the two commands, or use the action's mode: baseline);
  2. the secret: add {key_env} under Settings → Secrets and variables → Actions;
  3. the required check: after the first pull request, require "asr-gate / <suite>" in the branch rules."""
