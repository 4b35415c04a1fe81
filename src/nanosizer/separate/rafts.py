"""Rafts: many particles of one size packed side by side (self-assembled monolayers).

Two questions the learned separation asks of a region of the particle map: do the outlines
explain it as a raft (:func:`is_raft`: many alike convex particles covering it), and does the
image inside it look like one (:func:`texture_contrast`: dark particles and bright gaps at a
scale of a few pixels; :func:`gap_contrast`: the outlines meet on the brighter gaps, not
inside uniform particles)? Rafts of particles under ~16 px are one object to the shape head
at the native scale; enlarged 3-5 times they are particles of the sizes it knows
(:func:`nanosizer.separate.learned.learned_split` asks for that fine pass).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from ..regions import Region, in_box_of, inscribed_width, paint_labels

RAFT_MIN_OUTLINES = 8  # outlines that make a region a raft of particles, not pieces of one
RAFT_MAX_SPREAD = 1.0  # their areas' interquartile range / median at most (a raft's particles are alike)
RAFT_MIN_COVER = 0.6  # and they cover at least this share of the region
RAFT_MAX_WIDTH = 45.0  # px, and are this narrow: pieces of a large particle are as wide as the head goes

FINE_MIN_AREA_PX = 8000  # regions from this size whose inside is textured get the fine pass
FINE_MIN_OUTLINES = 30  # and its outlines replace theirs only when this many (a raft holds dozens)
FINE_MIN_TEXTURE = 0.12  # texture_contrast from which a region may be a raft of small particles
FINE_MIN_COVER = 0.3  # share of the region they cover at least (the rest is left out, with a reason)
FINE_MAX_SPREAD = 0.6  # their areas' interquartile range / median at most (rafts 0.29-0.58)
FINE_MIN_GAP = 0.15  # gap_contrast the fine pass's outlines need to replace the native ones
FINE_ZOOMS = (3.0, 5.0)  # enlargements tried (particles of ~11-16 and ~8-10 px to the head's sizes)
FINE_MIN_SIZE_AGREEMENT = 0.65  # median outline area at the larger zoom / at the smaller, at least
_FOOTPRINT = np.ones((3, 3), bool)


def is_raft(
    outlines: list[Region],
    region: Region,
    min_cover: float = RAFT_MIN_COVER,
    max_spread: float = RAFT_MAX_SPREAD,
) -> bool:
    """Whether ``outlines`` explain a region as a raft of many particles of one size:
    :data:`RAFT_MIN_OUTLINES` or more, alike (interquartile range of their areas at most
    ``max_spread`` of the median, :data:`RAFT_MAX_SPREAD`), narrow (:data:`RAFT_MAX_WIDTH`) and covering
    ``min_cover`` of it (:data:`RAFT_MIN_COVER`). A large particle cut up gives pieces of
    unequal sizes as wide as the head reaches (EMPS 4d951b622f: 10 pieces 95 px wide). The
    spread is the interquartile range: in a raft of 14 px particles a fifth of the native
    outlines hold two or three particles (coefficient of variation 0.76, interquartile range
    0.87 of the median)."""
    if len(outlines) < RAFT_MIN_OUTLINES:
        return False
    q1, median, q3 = np.percentile([o.area_px for o in outlines], [25, 50, 75])
    if q3 - q1 > max_spread * median:
        return False
    if np.median([inscribed_width(o.mask) for o in outlines]) > RAFT_MAX_WIDTH:
        return False
    painted = paint_labels(in_box_of(outlines, region), region.mask.shape)
    return bool(np.count_nonzero(painted * region.mask) >= min_cover * region.area_px)


def texture_contrast(region: Region, image: np.ndarray, binary: np.ndarray) -> float | None:
    """How textured the region's inside is at a scale of a few pixels: the standard deviation
    of the normalised ``image`` (dark particles) band-passed between Gaussians of 1 and 4 px,
    3 px or more inside the region, over the contrast between its inside and the background
    around it (``binary``: the particle map). Rafts of 6-14 px particles 0.15-0.27; single
    particles, clusters of large ones and overlaps 0.03-0.09 (generated large-particles,
    dense-packing, high-contrast, overlap-high, tsem-agglomerates). None without an inside or
    a contrast."""
    window, inside, _, frame = _window(region, image, 12)
    background = ~binary[frame]
    background &= ~ndi.binary_dilation(inside, _FOOTPRINT, iterations=2)
    core = ndi.binary_erosion(inside, _FOOTPRINT, iterations=3)
    if not (core.any() and background.any()):
        return None
    contrast = float(np.median(window[background]) - np.median(window[core]))
    if contrast <= 0:
        return None
    band = ndi.gaussian_filter(window, 1.0) - ndi.gaussian_filter(window, 4.0)
    return float(np.std(band[core])) / contrast


def gap_contrast(outlines: list[Region], region: Region, image: np.ndarray) -> float:
    """How much brighter the normalised ``image`` (dark particles) is where the outlines meet
    inside the region than 2 px or more inside them, as a share of the contrast between their
    insides and the background just around the region: a raft's particles meet on brighter
    gaps (ligand shells, or the dip between two round particles), the pieces of a large
    particle on cuts through its uniform inside. Outlines of the fine pass on rafts of 8-14 px
    particles 0.18-0.41; its pieces of large touching particles (generated dense-packing)
    -0.06-0.01, of a large porous one 0.12."""
    window, inside, box, _ = _window(region, image, 4)
    labels = np.zeros(window.shape, np.int32)
    labels[box] = paint_labels(in_box_of(outlines, region), region.mask.shape) * region.mask
    core = (labels > 0) & (ndi.maximum_filter(labels, size=5) == ndi.minimum_filter(labels, size=5))
    meet = ndi.maximum_filter(labels, footprint=_FOOTPRINT) != ndi.minimum_filter(
        labels, footprint=_FOOTPRINT
    )
    meet &= ndi.binary_erosion(inside, _FOOTPRINT, iterations=2) & (labels > 0)
    ring = ndi.binary_dilation(inside, _FOOTPRINT, iterations=4) & ~ndi.binary_dilation(inside, _FOOTPRINT)
    if not (core.any() and meet.any() and ring.any()):
        return 0.0
    level = float(np.median(window[core]))
    contrast = float(np.median(window[ring])) - level
    if contrast <= 0:
        return 0.0
    return (float(np.median(window[meet])) - level) / contrast


def _window(
    region: Region, image: np.ndarray, pad: int
) -> tuple[np.ndarray, np.ndarray, tuple[slice, slice], tuple[slice, slice]]:
    """The image around the region's box (``pad`` px more on each side, clipped; float64),
    the region's mask in it, the region's box in the window and the window in the image."""
    h, w = image.shape
    top, left = max(region.top - pad, 0), max(region.left - pad, 0)
    bottom = min(region.top + region.mask.shape[0] + pad, h)
    right = min(region.left + region.mask.shape[1] + pad, w)
    frame = (slice(top, bottom), slice(left, right))
    window = np.asarray(image[frame], np.float64)
    rows, cols = region.slices
    box = (slice(rows.start - top, rows.stop - top), slice(cols.start - left, cols.stop - left))
    inside = np.zeros(window.shape, bool)
    inside[box] = region.mask
    return window, inside, box, frame


def size_agreement(found: dict[float, list[Region]]) -> float | None:
    """Median area (px of the image) of the outlines found at the largest zoom over that at the
    smallest (None with fewer than two zooms outlined). A raft's particles come out the same
    size however much the image is enlarged (measured 0.75-0.98, 6-14 px); the pieces a head
    cuts a textured large particle into keep the head's own size, so in the image they shrink
    as the zoom grows (two EMPS particles of 150,000-250,000 px: 0.44 and 0.51)."""
    sizes = [np.median([o.area_px for o in outlines]) for _, outlines in sorted(found.items()) if outlines]
    return float(sizes[-1] / sizes[0]) if len(sizes) >= 2 else None
