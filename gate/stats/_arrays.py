"""Array helpers shared by the vectorised statistics."""
from __future__ import annotations

import numpy as np


def scalar(a):
    """A 0-d result as a plain float; arrays (batched inputs) unchanged."""
    a = np.asarray(a)
    return float(a) if a.ndim == 0 else a
