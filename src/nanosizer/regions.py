"""A particle or region as a boolean crop plus its place in the image.

Working on bounding-box crops keeps every per-particle step proportional to the particle, not
to the image, and lets overlapping particles (UECS keeps the overlap in both) coexist.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage as ndi


@dataclass
class Region:
    """One connected particle mask.

    Attributes
    ----------
    mask : (h, w) bool ndarray
        The particle pixels inside its bounding box.
    top, left : int
        Row and column of the crop's first pixel in the image.
    separated : bool
        True when the particle was split off an overlap.
    geometry : ContourGeometry or None
        Contour measures, kept once computed so no stage traces the same outline twice.
    """

    mask: np.ndarray
    top: int
    left: int
    separated: bool = False
    geometry: object = field(default=None, repr=False, compare=False)  # cached ContourGeometry

    @property
    def area_px(self) -> int:
        return int(np.count_nonzero(self.mask))

    @property
    def slices(self) -> tuple[slice, slice]:
        h, w = self.mask.shape
        return slice(self.top, self.top + h), slice(self.left, self.left + w)

    def touches_border(self, shape: tuple[int, int]) -> bool:
        """Whether any particle pixel lies on the outermost row or column of the image."""
        m = self.mask
        h, w = m.shape
        return bool(
            (self.top == 0 and m[0].any())
            or (self.left == 0 and m[:, 0].any())
            or (self.top + h == shape[0] and m[-1].any())
            or (self.left + w == shape[1] and m[:, -1].any())
        )


def in_box_of(regions: list[Region], box: Region) -> list[Region]:
    """The ``regions`` placed in ``box``'s own coordinates (its box's top-left corner at 0, 0),
    e.g. to paint a region's outlines on its crop."""
    return [Region(r.mask, r.top - box.top, r.left - box.left) for r in regions]


def crop_region(mask: np.ndarray, top: int, left: int, separated: bool = False) -> Region:
    """The pixels of ``mask`` (placed at ``top``, ``left`` in the image) as a :class:`Region`
    cut to their own box; ``mask`` must hold at least one pixel. The crop is a copy: a view
    would keep all of ``mask`` alive for as long as the particle lives."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    return Region(mask[r0:r1, c0:c1].copy(), top + int(r0), left + int(c0), separated)


def inscribed_width(mask: np.ndarray) -> float:
    """Twice the largest inscribed radius of a mask (holes filled), px: the width of one
    particle, or of the thickest particle of a cluster."""
    padded = np.pad(ndi.binary_fill_holes(mask), 1)
    return 2.0 * float(ndi.distance_transform_edt(padded).max())


def area_weighted_median(values, areas) -> float:
    """The value that half of the total area reaches, sorted by value: what covers most of
    an image or region decides, not what most of its parts are."""
    values, areas = np.asarray(values, float), np.asarray(areas, float)
    order = np.argsort(values)
    cumulative = np.cumsum(areas[order])
    return float(values[order][np.searchsorted(cumulative, 0.5 * cumulative[-1])])


def label_medians(values: np.ndarray, labels: np.ndarray, count: int) -> np.ndarray:
    """The median of ``values`` over each label 1..``count`` of ``labels`` (NaN where a label
    has no pixel): one sort of the labelled pixels, where ``scipy.ndimage.median`` sorts the
    whole image (2048², half of it labelled: 0.2 s against 1.4 s)."""
    flat = labels.ravel()
    chosen = np.flatnonzero(flat)
    if chosen.size == 0:
        return np.full(count, np.nan)
    owner, value = flat[chosen], values.ravel()[chosen]
    order = np.lexsort((value, owner))
    owner, value = owner[order], value[order]
    index = np.arange(1, count + 1)
    start, stop = np.searchsorted(owner, index), np.searchsorted(owner, index, side="right")
    empty = stop == start
    low = value[np.minimum((start + stop - 1) // 2, len(value) - 1)]
    high = value[np.minimum((start + stop) // 2, len(value) - 1)]
    return np.where(empty, np.nan, (low.astype(np.float64) + high) / 2)


def shared_pixels(a: Region, b: Region) -> int:
    """Pixels two regions share (their masks placed in the image; 0 when the boxes are apart)."""
    top, left = max(a.top, b.top), max(a.left, b.left)
    bottom = min(a.top + a.mask.shape[0], b.top + b.mask.shape[0])
    right = min(a.left + a.mask.shape[1], b.left + b.mask.shape[1])
    if bottom <= top or right <= left:
        return 0
    sa = a.mask[top - a.top : bottom - a.top, left - a.left : right - a.left]
    sb = b.mask[top - b.top : bottom - b.top, left - b.left : right - b.left]
    return int(np.count_nonzero(sa & sb))


def label_dtype(largest: int):
    """The label image dtype that holds labels up to ``largest``: uint16, else uint32."""
    return np.uint16 if largest < 2**16 else np.uint32


def regions_from_labels(labels: np.ndarray) -> list[Region]:
    """One :class:`Region` per label value > 0, in label order (missing values are skipped)."""
    regions = []
    for value, sl in enumerate(ndi.find_objects(labels), start=1):
        if sl is None:
            continue
        regions.append(Region(labels[sl] == value, sl[0].start, sl[1].start))
    return regions


def regions_from_mask(mask: np.ndarray) -> list[Region]:
    """Connected components (8-connected, as MATLAB's default) of a binary mask."""
    labels, _ = ndi.label(mask, structure=np.ones((3, 3), bool))
    return regions_from_labels(labels)


def paint_labels(regions: list[Region], shape: tuple[int, int]) -> np.ndarray:
    """Instance label image, value i + 1 for ``regions[i]``.

    Where particles overlap, the smaller one is painted last so that it stays visible; the
    measurements always use each particle's full mask.
    """
    labels = np.zeros(shape, label_dtype(len(regions)))
    order = sorted(range(len(regions)), key=lambda i: -regions[i].area_px)
    for i in order:
        region = regions[i]
        view = labels[region.slices]
        view[region.mask] = i + 1
    return labels


def hidden_fractions(regions: list[Region], labels: np.ndarray | None = None) -> np.ndarray:
    """Per region: the share of its area that other regions cover in the visible partition
    :func:`paint_labels` makes (where particles overlap, the smaller one stays visible).

    ``labels``: that partition when the caller has painted it already (painted here otherwise).
    """
    if not regions:
        return np.zeros(0)
    if labels is None:
        shape = (
            max(r.top + r.mask.shape[0] for r in regions),
            max(r.left + r.mask.shape[1] for r in regions),
        )
        labels = paint_labels(regions, shape)
    visible = np.array([np.count_nonzero(labels[r.slices][r.mask] == i + 1) for i, r in enumerate(regions)])
    return 1.0 - visible / np.maximum(1, [r.area_px for r in regions])
