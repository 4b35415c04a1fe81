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


def otsu_separability(score: np.ndarray, cut: float) -> float:
    """Otsu's effectiveness η = between-class variance / total variance at ``cut`` (0 to 1).

    Close to 1 when the image holds two well-separated intensity classes (black particles on
    a flat bright background), where a threshold places particle edges reliably.
    """
    fg = score > cut
    w1 = float(fg.mean())
    total = float(score.var())
    if w1 in (0.0, 1.0) or total <= 0:
        return 0.0
    between = w1 * (1 - w1) * (float(score[fg].mean()) - float(score[~fg].mean())) ** 2
    return between / total
