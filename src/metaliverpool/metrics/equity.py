"""Equity: any per-zone impact broken down by IMD 2019 decile, population-weighted.

Decile 1 is the most deprived tenth of LSOAs in England (MHCLG, English Indices of Deprivation 2019).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MOST_DEPRIVED_DECILE = 1


def by_imd_decile(values: pd.DataFrame, zones: pd.DataFrame, column: str) -> pd.DataFrame:
    """Population-weighted mean of ``values[column]`` (per ``zone_id``) for each IMD decile 1..10.

    Zones without a value are left out of their decile's mean. Columns: ``imd_decile``, ``value``,
    ``population`` (of the zones with a value), ``zones``.
    """
    joined = values[["zone_id", column]].merge(
        zones[["zone_id", "population", "imd_decile"]], on="zone_id", how="inner"
    )
    joined = joined[np.isfinite(joined[column].to_numpy(dtype=np.float64))]
    joined = joined[joined["imd_decile"].between(1, 10)]
    rows = []
    for decile in range(1, 11):
        group = joined[joined["imd_decile"] == decile]
        population = float(group["population"].sum())
        value = (
            float((group[column] * group["population"]).sum() / population)
            if population > 0
            else float("nan")
        )
        rows.append({"imd_decile": decile, "value": value, "population": population, "zones": len(group)})
    return pd.DataFrame(rows)
