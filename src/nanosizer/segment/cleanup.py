"""Clean the binary particle map: remove specks and fill small holes (ANTEMA, 0.5 nm)."""

from __future__ import annotations

import numpy as np
from skimage.morphology import remove_small_holes, remove_small_objects


def circle_area_px(diameter_nm: float, pixel_size_nm: float) -> float:
    """Area in pixels of a circle of the given diameter."""
    return float(np.pi / 4.0 * (diameter_nm / pixel_size_nm) ** 2)


def clean_mask(
    mask: np.ndarray, pixel_size_nm: float, min_particle_ecd_nm: float = 0.5, max_hole_ecd_nm: float = 0.5
) -> np.ndarray:
    """Remove regions and fill holes whose equivalent diameter is below the given sizes.

    A region (8-connected) is a speck when its area is smaller than that of a circle of
    ``min_particle_ecd_nm``; a hole (4-connected background) is filled under the same rule.
    """
    mask = np.asarray(mask, dtype=bool)
    speck = circle_area_px(min_particle_ecd_nm, pixel_size_nm)
    hole = circle_area_px(max_hole_ecd_nm, pixel_size_nm)
    # max_size removes areas <= max_size, so areas strictly below the circle area go.
    if speck > 1:
        mask = remove_small_objects(mask, max_size=int(np.ceil(speck)) - 1, connectivity=2)
    if hole > 1:
        mask = remove_small_holes(mask, max_size=int(np.ceil(hole)) - 1, connectivity=1)
    return mask
