"""What every segmenter starts from: the normalised image (:mod:`nanosizer.intensity`) with
particles bright (the ANTEMA pre-processing)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from ..intensity import PERCENTILES, normalise

__all__ = ["PERCENTILES", "normalise", "particle_signal", "support_removed"]


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


def support_removed(data01: np.ndarray, diameter_px: float) -> np.ndarray:
    """The network's input (dark particles, [0, 1]) with the support beneath the particles taken
    away, re-normalised: dark particles on a flat background.

    The support is the image's grey closing with a disc of ``diameter_px`` (the largest
    particles' diameter): dark features narrower than the disc vanish from it, a thick or
    lumpy support, wider, stays. HAADF-STEM of a supported catalyst, inverted, is dark
    particles on a dark and lumpy support heap, which the network takes for particles or
    background as a whole; after this it is the free-standing particles it knows.
    """
    from skimage.morphology import closing, disk

    radius = max(1, int(round(diameter_px / 2)))
    smooth = ndi.gaussian_filter(data01.astype(np.float32, copy=False), 1.0)
    support = closing(smooth, disk(radius, decomposition="sequence"))
    return normalise(1.0 - (support - data01))
