"""Distance-transform watershed, the classical alternative to UECS (a partition, no overlap)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.morphology import h_maxima
from skimage.segmentation import watershed


def watershed_split(mask: np.ndarray, h_px: float = 2.0) -> list[np.ndarray]:
    """Split a region crop at the necks between distance-transform maxima deeper than ``h_px``.

    Markers are the h-maxima of the Euclidean distance to the background (the h-minima of its
    negative), so shallow bumps on one particle's outline do not become particles.
    """
    region = np.pad(mask, 1)
    distance = ndi.distance_transform_edt(region)
    peaks = h_maxima(distance, h_px) if h_px > 0 else (distance == ndi.maximum_filter(distance, 3))
    markers, count = ndi.label(peaks & region, structure=np.ones((3, 3), bool))
    if count <= 1:
        return [mask.copy()]
    labels = watershed(-distance, markers, mask=region)[1:-1, 1:-1]
    return [labels == value for value in range(1, count + 1) if (labels == value).any()]
