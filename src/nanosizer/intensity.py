"""Intensity normalisation: every grey level to [0, 1] between robust percentiles.

Shared by the segmenters, network training and the overlays (a core module, so the report
does not reach up into segmentation for it).
"""

from __future__ import annotations

import numpy as np

PERCENTILES = (0.5, 99.5)


def normalise(image: np.ndarray, percentiles: tuple[float, float] = PERCENTILES) -> np.ndarray:
    """Rescale to float32 in [0, 1] between robust low and high percentiles.

    Percentiles rather than min/max, so a few hot pixels or a black burned-in label do not
    squeeze the particle contrast. Works the same for 8/16-bit integers and floats; integer
    images take a histogram and a lookup table instead (same numbers, 4x faster).
    """
    image = np.asarray(image)
    if image.dtype.kind == "u" and image.dtype.itemsize <= 2 and image.size:
        return _normalise_by_table(image, percentiles)
    data = np.asarray(image, dtype=np.float32)
    lo, hi = (np.float32(v) for v in np.percentile(data, percentiles))
    if hi <= lo:
        lo, hi = data.min(), data.max()
    if hi <= lo:
        return np.zeros_like(data)
    return np.clip((data - lo) / (hi - lo), 0.0, 1.0)


def _normalise_by_table(image: np.ndarray, percentiles: tuple[float, float]) -> np.ndarray:
    """:func:`normalise` of an 8/16-bit image: percentiles from the histogram, values from a table."""
    counts = np.bincount(image.ravel())
    values = np.flatnonzero(counts)  # the grey levels present, ascending
    ends = np.cumsum(counts[values])  # sorted-order index (exclusive) where each level ends
    n = image.size
    bounds = []
    for q in percentiles:  # NumPy's default (linear) percentile, from two order statistics
        h = (n - 1) * q / 100.0
        k = int(np.floor(h))
        a, b = (float(values[np.searchsorted(ends, i, side="right")]) for i in (k, min(k + 1, n - 1)))
        t = h - k
        bounds.append(np.float32(b - (b - a) * (1 - t) if t >= 0.5 else a + (b - a) * t))
    lo, hi = bounds
    if hi <= lo:
        lo, hi = np.float32(values[0]), np.float32(values[-1])
    if hi <= lo:
        return np.zeros(image.shape, np.float32)
    table = np.clip((np.arange(values[-1] + 1, dtype=np.float32) - lo) / (hi - lo), 0.0, 1.0)
    return table[image]
