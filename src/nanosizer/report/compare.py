"""Automated sizes against a manual list, as the paper compares with its human evaluator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import NanosizerError


def read_manual_sizes(path: str | Path) -> np.ndarray:
    """Diameters in nm from a CSV with one value per row (a header line is allowed)."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, header=None, comment="#")
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise NanosizerError(f"cannot read the manual size list ({exc})", path) from None
    values = pd.to_numeric(frame.iloc[:, 0], errors="coerce").to_numpy(float)
    values = values[np.isfinite(values)]
    if values.size < 2:
        raise NanosizerError("the manual list needs at least two numeric diameters in its first column", path)
    return values


def read_automated_sizes(results: str | Path, measure: str = "equivalent_diameter_nm") -> np.ndarray:
    """A measure of every particle of a results folder (its ``particles.csv``) or of a table file."""
    results = Path(results)
    table_path = results / "particles.csv" if results.is_dir() else results
    try:
        table = pd.read_csv(table_path)
    except (OSError, ValueError) as exc:
        raise NanosizerError(f"cannot read the particle table ({exc})", table_path) from None
    if measure not in table:
        raise NanosizerError(f"no column {measure!r} in the particle table", table_path)
    return table[measure].to_numpy(float)


def compare_sizes(automated, manual) -> dict:
    """Means ± std, the difference of means with a 95 % Welch interval, and a two-sample KS test."""
    from scipy import stats

    a, m = np.asarray(automated, float), np.asarray(manual, float)
    a, m = a[np.isfinite(a)], m[np.isfinite(m)]
    va, vm = a.var(ddof=1) / a.size, m.var(ddof=1) / m.size
    diff = a.mean() - m.mean()
    se = np.sqrt(va + vm)
    dof = (va + vm) ** 2 / (va**2 / (a.size - 1) + vm**2 / (m.size - 1)) if se > 0 else np.inf
    half = stats.t.ppf(0.975, dof) * se if se > 0 else 0.0
    ks = stats.ks_2samp(a, m)
    return {
        "automated_count": int(a.size),
        "automated_mean_nm": float(a.mean()),
        "automated_std_nm": float(a.std(ddof=1)),
        "manual_count": int(m.size),
        "manual_mean_nm": float(m.mean()),
        "manual_std_nm": float(m.std(ddof=1)),
        "difference_nm": float(diff),
        "difference_ci_low_nm": float(diff - half),
        "difference_ci_high_nm": float(diff + half),
        "relative_difference": float(diff / m.mean()),
        "ks_statistic": float(ks.statistic),
        "ks_pvalue": float(ks.pvalue),
    }


def comparison_figure(automated, manual, measure_label: str = "equivalent circular diameter (nm)"):
    """Overlaid density histograms of the automated and manual sizes on shared bins."""
    from matplotlib.figure import Figure

    a, m = np.asarray(automated, float), np.asarray(manual, float)
    edges = np.histogram_bin_edges(np.concatenate([a, m]), bins="auto")
    fig = Figure(figsize=(5, 3.6), dpi=120, layout="constrained")
    ax = fig.add_subplot()
    ax.hist(m, edges, density=True, alpha=0.55, color="#fd8d3c", label=f"manual (n={m.size})")
    ax.hist(a, edges, density=True, alpha=0.55, color="#3182bd", label=f"nanosizer (n={a.size})")
    ax.set_xlabel(measure_label)
    ax.set_ylabel("probability density")
    ax.legend(fontsize=8)
    return fig
