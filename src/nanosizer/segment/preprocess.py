"""What every segmenter starts from: the normalised image (:mod:`nanosizer.intensity`) with
particles bright (the ANTEMA pre-processing)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from ..intensity import PERCENTILES, normalise

__all__ = ["PERCENTILES", "normalise", "particle_signal"]


def particle_signal(image: np.ndarray, sigma_px: float = 2.0, particles: str = "dark") -> np.ndarray:
    """Blurred, normalised image in which particles are bright (the ANTEMA pre-processing).

    Parameters
    ----------
    image : (M, N) ndarray
        Grey micrograph.
    sigma_px : float
        Gaussian sigma in pixels (paper: 2); 0 disables the blur.
    particles : {'dark', 'bright'}
        Particle contrast in the micrograph (bright-field TEM: dark; anything but 'bright',
        such as an undecided 'auto', counts as dark, as in the network's input).
    """
    data = np.asarray(image, dtype=np.float32)
    if sigma_px > 0:
        data = ndi.gaussian_filter(data, sigma_px)
    data = normalise(data)
    return data if particles == "bright" else 1.0 - data
