"""Forecast error measures over observed targets: MAE, RMSE and MAPE (percent).

Missing targets (NaN) are left out. MAPE also leaves out targets whose absolute value is below
``mape_floor`` (zero speeds or flows would make it infinite), as in the METR-LA/PEMS-BAY protocol.
"""

from __future__ import annotations

import numpy as np


def score_forecast(predicted: np.ndarray, observed: np.ndarray, mape_floor: float = 1e-3) -> dict[str, float]:
    """MAE and RMSE in the series' unit, MAPE in percent, and the number of scored values."""
    valid = ~np.isnan(observed) & ~np.isnan(predicted)
    error = predicted[valid] - observed[valid]
    if error.size == 0:
        return {"mae": float("nan"), "rmse": float("nan"), "mape_pct": float("nan"), "n": 0}
    relevant = np.abs(observed[valid]) > mape_floor
    mape = (
        float(np.mean(np.abs(error[relevant]) / np.abs(observed[valid][relevant])) * 100.0)
        if relevant.any()
        else float("nan")
    )
    return {
        "mae": float(np.mean(np.abs(error))),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mape_pct": mape,
        "n": int(error.size),
    }
