"""Segmentation: micrograph to binary particle map (threshold baseline or trained network)."""

from __future__ import annotations

import numpy as np

from .cleanup import clean_mask
from .preprocess import normalise, particle_signal
from .threshold import segment_threshold


def segment(image: np.ndarray, pixel_size_nm: float, settings, notes: list | None = None) -> np.ndarray:
    """Binary particle map of a micrograph with the segmenter the settings name.

    What a user should know about how it was made (e.g. the network's working zoom) is
    appended to ``notes``.
    """
    if settings.segmenter == "network":
        from .network import auto_zoom, network_input, segment_network

        zoom = settings.network_zoom
        if zoom == "auto":
            zoom = auto_zoom(network_input(image, settings.particles))
        if zoom != 1.0 and notes is not None:
            how = "automatic" if settings.network_zoom == "auto" else "--network-zoom"
            notes.append(f"network run on the image resampled by {zoom:g} ({how}); results at native pixels")
        return segment_network(image, settings.particles, settings.model, zoom)
    return segment_threshold(image, settings.blur_sigma_px, settings.particles)


__all__ = ["clean_mask", "normalise", "particle_signal", "segment", "segment_threshold"]
