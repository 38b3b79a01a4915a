"""Shim: removed when the refactor branches merge."""
from .run.sequential import boundaries, decide_arrays, design_for, look_cuts, pass_boundaries

__all__ = ["boundaries", "decide_arrays", "design_for", "look_cuts", "pass_boundaries"]
