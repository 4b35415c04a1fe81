"""Ultimate erosion of convex shapes (UECS): split overlapping particles, keeping the overlap.

After Park et al. (IEEE TPAMI 2013) as adapted in ANTEMA (Gumbiowski et al. 2023): erode a
non-convex region step by step, alternating a 3x3 cross and a 2x2 square; each piece that has
become convex is frozen as a marker with its step count; each marker is dilated back by as many
steps, alternating the same elements in reverse order, never leaving the original region.
Unlike a watershed, two regrown particles may share their overlap area.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from ..measure.geometry import contour_geometry, is_convex, polygon_area

CROSS = ndi.generate_binary_structure(2, 1)
SQUARE = np.ones((2, 2), dtype=bool)
_EIGHT = np.ones((3, 3), dtype=bool)


def structuring_element(step: int) -> np.ndarray:
    """Element of erosion step ``step`` (1-based): odd steps a cross, even steps a 2x2 square."""
    return CROSS if step % 2 == 1 else SQUARE


@dataclass
class Marker:
    """A frozen convex piece: its mask in the (padded) region frame and its erosion steps."""

    mask: np.ndarray
    steps: int


def find_markers(
    region: np.ndarray, min_marker_px: float, convexity_threshold: float, solidity_threshold: float
) -> list[Marker]:
    """Erode until every piece is convex (marker) or too small (dropped).

    ``region`` must have a background border of at least one pixel.
    """
    work = region.copy()
    markers: list[Marker] = []
    step = 0
    while work.any():
        step += 1
        work = ndi.binary_erosion(work, structuring_element(step))
        labels, count = ndi.label(work, structure=_EIGHT)
        if count == 0:
            break
        sizes = np.bincount(labels.ravel(), minlength=count + 1)
        for value, sl in enumerate(ndi.find_objects(labels), start=1):
            piece = labels[sl] == value
            if sizes[value] < min_marker_px:
                work[sl][piece] = False
                continue
            if not _may_be_convex(piece, solidity_threshold):
                continue
            geom = contour_geometry(piece)
            if is_convex(geom, convexity_threshold, solidity_threshold):
                full = np.zeros_like(work)
                full[sl][piece] = True
                markers.append(Marker(full, step))
                work[sl][piece] = False
    return markers


def _may_be_convex(piece: np.ndarray, solidity_threshold: float) -> bool:
    """Cheap rejection: area against the octagon spanned by the piece's extreme pixels.

    That octagon lies inside the convex hull, so area / octagon area bounds the solidity from
    above; a 10 % margin covers the difference between pixel and contour areas. Long eroded
    necks fail here without tracing their contour.
    """
    rr, cc = np.nonzero(piece)
    if rr.size < 8:
        return True
    points = np.stack([rr, cc], axis=1).astype(np.float64)
    keys = (rr, -rr, cc, -cc, rr + cc, -(rr + cc), rr - cc, cc - rr)
    extreme = points[[int(np.argmax(k)) for k in keys]]
    centre = extreme.mean(axis=0)
    angles = np.arctan2(extreme[:, 0] - centre[0], extreme[:, 1] - centre[1])
    octagon = polygon_area(extreme[np.argsort(angles)])
    return rr.size >= 0.9 * solidity_threshold * octagon


def regrow(marker: Marker, region: np.ndarray) -> np.ndarray:
    """Dilate a marker back by its erosion steps (reverse element order), inside ``region``."""
    grown = marker.mask
    for step in range(marker.steps, 0, -1):
        grown = ndi.binary_dilation(grown, structuring_element(step)) & region
    return grown


def uecs_split(
    mask: np.ndarray,
    min_marker_px: float = 30,
    convexity_threshold: float = 0.95,
    solidity_threshold: float = 0.95,
) -> tuple[list[np.ndarray], int]:
    """Split one non-convex region crop into convex particles.

    Parameters
    ----------
    mask : (h, w) bool ndarray
        One connected region.
    min_marker_px : float
        Pieces smaller than this (in pixels) during erosion are dropped.
    convexity_threshold, solidity_threshold : float
        The convexity test for markers and for regrown particles.

    Returns
    -------
    particles : list of (h, w) bool ndarray
        Regrown convex particles (they may overlap each other).
    discarded : int
        Regrown particles dropped because they were non-convex again.
    """
    region = np.pad(mask, 1)
    particles, discarded = [], 0
    for marker in find_markers(region, min_marker_px, convexity_threshold, solidity_threshold):
        grown = regrow(marker, region)[1:-1, 1:-1]
        if is_convex(contour_geometry(grown), convexity_threshold, solidity_threshold):
            particles.append(grown)
        else:
            discarded += 1
    return particles, discarded
