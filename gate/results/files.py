"""Reading and writing results and baseline files: the one loader, and the atomic writer.

Every reader of a results or baseline file goes through `load_results`; what it checks is in
`gate.results.validation` (docs/formats.md describes the file).
"""
from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError

if TYPE_CHECKING:
    from ..config import Document

#: results and baselines of very large suites are big, but never this big
MAX_RESULTS_BYTES = 256 * 1024 * 1024


def load_results(path: str | os.PathLike, *, strict: bool = True) -> dict[str, Any]:
    """Load and validate a results (or baseline) file; every problem is one located ConfigError (exit 2).

    ``strict`` (validate, merge, publish, baseline update): a file `asr-gate run` wrote, checked
    whole against gate/schemas/results.json, YAML-located. Not strict (compare, gate, plan,
    run --sequential): only the counts a comparison reads, so hand-made files work too; plain JSON
    parsed once with the fast hand check, count fields normalised to ints (20.0 → 20).
    """
    from . import validation

    path = os.fspath(path)
    if strict:
        from ..config import load_document

        doc = load_document(path, max_bytes=MAX_RESULTS_BYTES)
        validation.check_results_file(doc)
    else:
        doc = _read_json(path)
        validation.check_counts(doc)
    return doc.data


class _DuplicateKey(Exception):
    pass


def _read_json(path: str) -> Document:
    """A JSON file as a Document, with located errors for bad JSON, duplicate keys and NaN/Infinity.
    Lines are computed from the text only if an error needs one."""
    from ..config import Document, _read_text, load_document
    from .validation import locate_bad_number

    text = _read_text(path, MAX_RESULTS_BYTES)

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        d = dict(items)
        if len(d) != len(items):  # a duplicate key: find it (rare, so the common case stays one C call)
            seen: set[str] = set()
            for k, _ in items:
                if k in seen:
                    raise _DuplicateKey(k)
                seen.add(k)
        return d

    def bad_constant(name: str) -> Any:
        raise ValueError(f"{name} is not a valid JSON number")

    try:
        data = json.loads(text, object_pairs_hook=pairs, parse_constant=bad_constant)
    except json.JSONDecodeError as exc:
        raise ConfigError(path, f"invalid JSON: {exc.msg} (column {exc.colno})", line=exc.lineno) from None
    except RecursionError:
        raise ConfigError(path, "invalid JSON: nested too deeply", line=1) from None
    except _DuplicateKey as exc:
        load_document(path, max_bytes=MAX_RESULTS_BYTES)  # the YAML walk locates the duplicate key
        name = " ".join(str(exc.args[0]).split())[:60]
        raise ConfigError(path, f"duplicate key '{name}'", line=1) from None  # pragma: no cover
    except ValueError as exc:  # NaN / Infinity, or an integer too long to convert
        raise locate_bad_number(path, text, exc) from None
    return Document(path, data, None, text)


def write_json_atomic(path: str, data: Any) -> None:
    """Write via a fresh temp file + rename so a kill never leaves a half-written results file, and a link at
    ``path`` is replaced, never written through (`gate.safe_files.write_text`)."""
    from ..safe_files import write_text

    write_text(path, json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n", fsync=True)
