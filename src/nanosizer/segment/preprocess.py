"""Intensity normalisation shared by every segmenter (and by network training)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

PERCENTILES = (0.5, 99.5)


def normalise(image: np.ndarray, percentiles: tuple[float, float] = PERCENTILES) -> np.ndarray:
    """Rescale to float32 in [0, 1] between robust low and high percentiles.

    Percentiles rather than min/max, so a few hot pixels or a black burned-in label do not
    squeeze the particle contrast. Works the same for 8/16-bit integers and floats.
    """
    data = np.asarray(image, dtype=np.float32)
    lo, hi = (np.float32(v) for v in np.percentile(data, percentiles))
    if hi <= lo:
        lo, hi = data.min(), data.max()
    if hi <= lo:
        return np.zeros_like(data)
    return np.clip((data - lo) / (hi - lo), 0.0, 1.0)


def particle_signal(image: np.ndarray, sigma_px: float = 2.0, particles: str = "dark") -> np.ndarray:
    """Blurred, normalised image in which particles are bright (the ANTEMA pre-processing).

    Parameters
    ----------
    image : (M, N) ndarray
        Grey micrograph.
    sigma_px : float
        Gaussian sigma in pixels (paper: 2); 0 disables the blur.
    particles : {'dark', 'bright'}
        Particle contrast in the micrograph (bright-field TEM: dark).
    """
    data = np.asarray(image, dtype=np.float32)
    if sigma_px > 0:
        data = ndi.gaussian_filter(data, sigma_px)
    data = normalise(data)
    return 1.0 - data if particles == "dark" else data
