"""The classical baseline segmenter: Gaussian blur, then Otsu's automatic threshold."""

from __future__ import annotations

import numpy as np
from skimage.filters import threshold_otsu

from .preprocess import particle_signal


def threshold_probability(image: np.ndarray, sigma_px: float = 2.0, particles: str = "dark"):
    """Particle score in [0, 1] and the Otsu cut on it, as (score, threshold)."""
    score = particle_signal(image, sigma_px, particles)
    return score, float(threshold_otsu(score))


def segment_threshold(image: np.ndarray, sigma_px: float = 2.0, particles: str = "dark") -> np.ndarray:
    """Binary particle map by Otsu's threshold on the blurred, normalised image."""
    score, cut = threshold_probability(image, sigma_px, particles)
    return score > cut
