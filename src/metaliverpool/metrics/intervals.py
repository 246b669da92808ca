"""Means and confidence intervals across seeds (Student t, two-sided).

Runs of the baseline and the scenario use the same seeds, so a change is measured per seed (paired) and
the interval is that of the mean paired difference. With one seed there is no interval: lower and upper
equal the mean and ``n`` says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats


@dataclass(frozen=True)
class Interval:
    """Mean of ``n`` values with a two-sided ``level`` confidence interval ``[lower, upper]``."""

    mean: float
    lower: float
    upper: float
    n: int
    level: float = 0.95

    def as_dict(self) -> dict[str, float | int]:
        """Plain data for ``kpis.json``."""
        return {"mean": self.mean, "lower": self.lower, "upper": self.upper, "n": self.n, "level": self.level}


def mean_interval(values: npt.ArrayLike, level: float = 0.95) -> Interval:
    """Mean and Student-t confidence interval of ``values`` (NaNs ignored)."""
    array = np.asarray(values, dtype=np.float64)
    array = array[np.isfinite(array)]
    n = int(array.size)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, level)
    mean = float(array.mean())
    if n == 1:
        return Interval(mean, mean, mean, 1, level)
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * array.std(ddof=1) / math.sqrt(n))
    return Interval(mean, mean - half, mean + half, n, level)


def paired_change(baseline: npt.ArrayLike, scenario: npt.ArrayLike, level: float = 0.95) -> Interval:
    """Interval of the mean per-seed change ``scenario - baseline`` (same seeds, same order)."""
    before = np.asarray(baseline, dtype=np.float64)
    after = np.asarray(scenario, dtype=np.float64)
    if before.shape != after.shape:
        raise ValueError(f"baseline has {before.shape} values, scenario {after.shape}: seeds must match")
    return mean_interval(after - before, level)
