"""Shim: removed when the refactor branches merge."""
from .run.runner import RunOptions, run_ab, run_suite

__all__ = ["RunOptions", "run_ab", "run_suite"]
