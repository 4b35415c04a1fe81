"""Sample statistics as a materials scientist reports them, with bootstrap confidence intervals.

A sample pools every particle of its images (the paper's Fig. 5 pools 1465 particles). Means,
the D10/D50/D90 percentiles and the EU share come with 95 % percentile-bootstrap intervals
drawn from a seeded generator, so the same table gives the same intervals. Percentiles and
shares are drawn from their exact resampling distributions (order statistics, binomial
counts), which costs the same for ten particles or a hundred thousand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Measures described per sample, in the order of the report.
SAMPLE_MEASURES = (
    "equivalent_diameter_nm",
    "feret_min_nm",
    "feret_max_nm",
    "area_nm2",
    "aspect_ratio",
    "circularity",
)
EU_RANGE_NM = (1.0, 100.0)  # Commission Recommendation 2022/C 229/01
EU_THRESHOLD = 0.5
EU_MIN_COUNT = 30  # no verdict on fewer particles, however clear their share looks
BOOTSTRAP = 2000


def bootstrap_ci(values: np.ndarray, statistic, n: int = BOOTSTRAP, seed: int = 0, level: float = 0.95):
    """Percentile-bootstrap interval of ``statistic`` (applied along axis 1 of resamples)."""
    values = np.asarray(values, float)
    if values.size < 2:
        return (np.nan, np.nan)
    rng = np.random.default_rng(seed)
    # Resample in blocks so memory stays small for large samples.
    stats = []
    block = max(1, 2_000_000 // values.size)
    for start in range(0, n, block):
        idx = rng.integers(0, values.size, size=(min(block, n - start), values.size))
        stats.append(statistic(values[idx]))
    return _interval(np.concatenate(stats), level)


def bootstrap_percentile_ci(
    values: np.ndarray, q: float, n: int = BOOTSTRAP, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile-bootstrap interval of NumPy's (linear) ``q``-th percentile, without resampling.

    Drawing m values with replacement from the sorted ``xs`` is drawing m uniform indices; the
    k-th smallest of the resample is ``xs[floor(m·U)]`` with U the k-th smallest of m uniforms,
    U ~ Beta(k, m − k + 1), and the next one is U + (1 − U)·Beta(1, m − k). So each draw costs
    two Beta variates instead of m values: the same distribution as resampling, O(n) not O(n·m),
    which keeps a sample of many thousand particles quick.
    """
    xs = np.sort(np.asarray(values, float))
    m = xs.size
    if m < 2:
        return (np.nan, np.nan)
    h = (m - 1) * q / 100.0  # NumPy's linear method: between order statistics k0 and k0 + 1 (0-based)
    k0 = min(int(np.floor(h)), m - 2)
    g = h - k0
    rng = np.random.default_rng(seed)
    lower = rng.beta(k0 + 1, m - k0, size=n)
    upper = lower + (1.0 - lower) * rng.beta(1, m - k0 - 1, size=n)
    low_value = xs[np.minimum((m * lower).astype(np.int64), m - 1)]
    high_value = xs[np.minimum((m * upper).astype(np.int64), m - 1)]
    return _interval(low_value + g * (high_value - low_value), level)


def wilson_interval(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a share: never of zero width, also at 0 % and 100 %, where a
    bootstrap of the share collapses onto the share itself (3 of 3 particles: 44-100 %, not 100-100 %).

    >>> [round(v, 3) for v in wilson_interval(3, 3)]
    [0.439, 1.0]
    """
    if n < 1:
        return (np.nan, np.nan)
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + level / 2))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low = 0.0 if successes == 0 else max(0.0, float(centre - half))  # exact ends, no rounding residue
    high = 1.0 if successes == n else min(1.0, float(centre + half))
    return (low, high)


def _interval(draws: np.ndarray, level: float) -> tuple[float, float]:
    alpha = (1 - level) / 2
    return tuple(float(v) for v in np.quantile(draws, [alpha, 1 - alpha]))


def describe(values, seed: int = 0) -> dict:
    """Count, mean ± std, median and D10/D50/D90 with 95 % bootstrap intervals."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    out = {"count": int(v.size)}
    if v.size == 0:
        return out | {k: np.nan for k in ("mean", "std", "median", "d10", "d50", "d90")}
    out["mean"] = float(v.mean())
    out["std"] = float(v.std(ddof=1)) if v.size > 1 else np.nan
    out["mean_ci_low"], out["mean_ci_high"] = bootstrap_ci(v, lambda a: a.mean(axis=1), seed=seed)
    out["median"] = float(np.median(v))
    for q in (10, 50, 90):
        out[f"d{q}"] = float(np.percentile(v, q))
        low, high = bootstrap_percentile_ci(v, q, seed=seed + q)
        out[f"d{q}_ci_low"], out[f"d{q}_ci_high"] = low, high
    return out


def sample_statistics(particles: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """One row per (sample, measure) with :func:`describe`'s columns."""
    rows = []
    groups = particles.groupby("sample", sort=False) if "sample" in particles else [("all", particles)]
    for sample, table in groups:
        for measure in SAMPLE_MEASURES:
            values = table[measure] if measure in table else []
            rows.append({"sample": sample, "measure": measure, **describe(values, seed)})
    return pd.DataFrame(rows)


def weighted_distribution(diameters, bins: int | np.ndarray = 30) -> pd.DataFrame:
    """Number- and area-weighted histograms (fractions) of a size column, on shared bins."""
    d = np.asarray(diameters, float)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return pd.DataFrame(columns=["bin_low_nm", "bin_high_nm", "number_fraction", "area_fraction"])
    edges = np.histogram_bin_edges(d, bins=bins)
    number, _ = np.histogram(d, edges)
    area, _ = np.histogram(d, edges, weights=d**2)
    return pd.DataFrame(
        {
            "bin_low_nm": edges[:-1],
            "bin_high_nm": edges[1:],
            "number_fraction": number / max(number.sum(), 1),
            "area_fraction": area / max(area.sum(), 1e-300),
        }
    )


def eu_nanomaterial(feret_min_nm, seed: int = 0) -> dict:
    """The EU nanomaterial criterion on the smallest external dimension (Feret min).

    A material is a nanomaterial when at least 50 % of its particles (number-based) have an
    external dimension in 1–100 nm. Returns that share with its 95 % Wilson interval, the
    number-based median and whether it is ≤ 100 nm. ``nanomaterial`` is None (undecided) below
    :data:`EU_MIN_COUNT` particles or when the interval straddles 50 %: too few particles to say.
    A projection shows two dimensions only: the third (thickness) is not seen, so plates can be
    nano while their Feret min is not.
    """
    d = np.asarray(feret_min_nm, float)
    d = d[np.isfinite(d)]
    lo, hi = EU_RANGE_NM
    inside = (d >= lo) & (d <= hi)
    share = float(inside.mean()) if d.size else np.nan
    low, high = wilson_interval(int(inside.sum()), int(d.size))
    median = float(np.median(d)) if d.size else np.nan
    return {
        "count": int(d.size),
        "share_1_100_nm": share,
        "share_ci_low": low,
        "share_ci_high": high,
        "median_feret_min_nm": median,
        "median_at_most_100_nm": bool(median <= hi) if d.size else None,
        "nanomaterial": _verdict(share, low, high) if d.size >= EU_MIN_COUNT else None,
        "min_count": EU_MIN_COUNT,
        "limitation": "2-D projection: the particle thickness along the beam is not measured.",
    }


def _verdict(share: float, low: float, high: float) -> bool | None:
    """Whether the share meets the EU threshold, or None when its interval straddles it."""
    if np.isfinite(low) and np.isfinite(high) and low < EU_THRESHOLD <= high:
        return None
    if not (np.isfinite(low) and np.isfinite(high)):  # one particle: no interval, no verdict
        return None
    return bool(share >= EU_THRESHOLD)
