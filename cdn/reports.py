"""Report values: the one rounding rule every JSON report (report.json, load.json, plan.json,
compare.json) follows, so the same figure prints the same everywhere and reports diff cleanly.

Rules: pure; floats are rounded to DIGITS decimals, NaN and infinities become None (JSON has no
such numbers), -0.0 becomes 0.0, numpy scalars become Python numbers, mapping keys become strings.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

DIGITS = 6


def rounded(value: Any, digits: int = DIGITS) -> Any:
    """``value`` with every float rounded to ``digits`` decimals, recursively (see the header)."""
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        result = round(value, digits)
        return 0.0 if result == 0 else result
    if isinstance(value, Mapping):
        return {str(k): rounded(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(v, digits) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return rounded(value.item(), digits)
    return value
