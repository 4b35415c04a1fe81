"""Segmentation: micrograph to binary particle map (threshold baseline or trained network)."""

from __future__ import annotations

import numpy as np

from .cleanup import clean_mask
from .preprocess import normalise, particle_signal
from .threshold import segment_threshold


def segment(image: np.ndarray, pixel_size_nm: float, settings) -> np.ndarray:
    """Binary particle map of a micrograph with the segmenter the settings name."""
    return segment_threshold(image, settings.blur_sigma_px, settings.particles)


__all__ = ["clean_mask", "normalise", "particle_signal", "segment", "segment_threshold"]
