"""Shim: removed when the refactor branches merge."""
from .results.baseline import (append_history, before_after_rows, changed_attacks, check_same_suite,
                               classify_attacks, default_baseline_path, estimates, history_entry, history_path,
                               make_baseline, paired_attacks, read_history)

__all__ = ["append_history", "before_after_rows", "changed_attacks", "check_same_suite", "classify_attacks",
           "default_baseline_path", "estimates", "history_entry", "history_path", "make_baseline",
           "paired_attacks", "read_history"]
