"""Suites: load a suite YAML, expand templates, vars matrices and imports into concrete attacks.

An `Attack` is the unit of analysis of the whole gate (the statistics pair attacks, not attempts).
The package, in pipeline order: `model.py` (Attack, Suite), `canary.py` (the per-attempt token and
its placeholders, `{{canary}}`, `{{canary.half1}}`, ...), `build.py` (defaults, templates, vars
matrices, the check that an attack's input does not already hold its canary), `imports.py`
(`import:` entries and the roots they may read), `transforms.py` (encoded variants). The suite file format is described in docs/formats.md.
"""
from __future__ import annotations

from .build import DEFAULT_ATTEMPTS, DEFAULT_CATEGORY, MAX_ATTACKS, build_suite, load_suite
from .imports import allowed_roots, resolve_import_path
from .model import CANARY_PLACEHOLDER, Attack, Suite, new_canary

__all__ = [
    "Attack", "Suite", "new_canary", "build_suite", "load_suite", "allowed_roots", "resolve_import_path",
    "CANARY_PLACEHOLDER", "DEFAULT_ATTEMPTS", "DEFAULT_CATEGORY", "MAX_ATTACKS",
]
