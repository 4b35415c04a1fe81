"""Learned separation: particles from the network's whole-outline predictions (star polygons).

Candidates are the object-probability peaks inside the particle map; their polygons go
through non-maximum suppression (:func:`~nanosizer.separate.star.suppress`), which keeps truly
overlapping pairs. Where a particle borders the background its edge comes from the particle
map (polygon ∩ map), where it is hidden under another one from the predicted outline; a
region with a single outline keeps its own segmented edge when it is convex; in dark field
(``particles='bright'``) so does a convex region that got no outline. What no outline explains
(non-convex remnants, junk) is excluded with a reason, as UECS's leftovers are.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from ..measure.feret import feret_diameters
from ..measure.geometry import contour_geometry, is_convex
from ..regions import (
    Region,
    area_weighted_median,
    crop_region,
    in_box_of,
    inscribed_width,
    paint_labels,
    regions_from_labels,
)
from ..segment import FINE_MAX_INPUT_PX
from ..segment.shapes import OUTLINE_LENGTH_PX, OUTLINE_SIZES_PX, ShapeField, wide_regions
from .excluded import excluded_entry
from .rafts import (
    FINE_MAX_SPREAD,
    FINE_MIN_AREA_PX,
    FINE_MIN_COVER,
    FINE_MIN_GAP,
    FINE_MIN_OUTLINES,
    FINE_MIN_SIZE_AGREEMENT,
    FINE_MIN_TEXTURE,
    FINE_ZOOMS,
    gap_contrast,
    is_raft,
    size_agreement,
    texture_contrast,
)
from .star import candidates, suppress

MIN_SUPPORT = 0.5  # an outline with less than this share of its area in the particle map is rejected
GROW_FRACTION = 0.25  # how far (× the typical outline radius) outlines grow into uncovered map pixels
LEFTOVER_FRACTION = 0.25  # unexplained pieces above this share of the median particle are excluded


def learned_split(binary: np.ndarray, field: ShapeField, settings, result) -> None:
    """Fill ``result`` (a :class:`~nanosizer.separate.separate.Separation`) with the particles
    the outlines give, the regions none explains, and the counts."""
    labels, count = ndi.label(binary, structure=np.ones((3, 3), bool))
    result.regions = count
    outlines = _outlines(field, binary, labels, settings)
    regions = regions_from_labels(labels)
    fewest = 0 if settings.particles == "bright" else 1  # dark field: no outline is enough too
    single = [
        _single_convex(region, outlines.get(value, []), settings, fewest)
        for value, region in enumerate(regions, 1)
    ]
    wide = wide_regions({value: r for value, r in enumerate(regions, start=1) if not single[value - 1]})
    if wide and field.coarse_pass is not None:  # large particles: ask the coarse pass
        fields = field.coarse_pass([(regions[value - 1], width) for value, width in wide.items()])
        coarse = _coarse_outlines(fields, binary, labels, regions, settings)
        for value in _coarse_regions(wide, coarse):
            if is_raft(outlines.get(value, []), regions[value - 1]):
                continue  # many particles of one size: the shrunk image merges them, keep them
            outlines[value] = coarse[value]
            single[value - 1] = _single_convex(regions[value - 1], coarse[value], settings, fewest)
        result.coarse_regions = len(wide)
    fine = {}
    if field.fine_pass is not None and field.image is not None:  # rafts of small particles
        fine = _fine_outlines(field, binary, labels, regions, outlines, settings)
        for value, found in fine.items():
            outlines[value] = found
            single[value - 1] = False
            result.fine_regions += 1
    for value, region in enumerate(regions, start=1):
        found = outlines.get(value, [])
        if single[value - 1]:
            result.particles.append(region)  # one particle: its own segmented edge
            continue
        if len(found) > 1:
            result.non_convex_regions += 1
        result.particles.extend(found if value in fine else _grown_to_map(found, region))
    _exclude_leftovers(labels, result)


def _single_convex(region: Region, outlines: list[Region], settings, fewest: int = 1) -> bool:
    """Whether a region is one particle with its own segmented edge: a convex region (its contour
    geometry is kept on the region) with a single outline, or none when ``fewest`` is 0.

    Dark field takes convex regions without an outline: the shape head, trained on far fewer
    dark-field scenes, leaves many faint supported particles without one (generated
    ``catalyst-haadf`` F1 0.21 -> 0.30, held-out ``haadf-support`` 0.915 -> 0.923),
    and its images do not carry the dark figure text and specks that such a rule counts in
    bright field (EMPS crops: F1 0.903 -> 0.882)."""
    if not fewest <= len(outlines) <= 1:
        return False
    if region.geometry is None:
        region.geometry = contour_geometry(region.mask)
    return is_convex(region.geometry, settings.convexity_threshold, settings.solidity_threshold)


def _grown_to_map(outlines: list[Region], region: Region) -> list[Region]:
    """The outlines, each with the pixels of its map region that no outline covers and that lie
    nearer to it than to any other, up to :data:`GROW_FRACTION` of the typical outline's radius
    away: where a particle borders the background its edge is the map's, not the polygon's
    (a 32-ray polygon whose rays are a little short would otherwise shrink every particle)."""
    if not outlines:
        return outlines
    from skimage.segmentation import expand_labels

    local = in_box_of(outlines, region)
    visible = paint_labels(local, region.mask.shape) * region.mask
    radius = np.sqrt(np.median([o.area_px for o in outlines]) / np.pi)
    distance = max(1.0, GROW_FRACTION * radius)
    grown = expand_labels(visible, distance=distance) * region.mask
    reach = int(np.ceil(distance)) + 1  # an outline grows no farther than this beyond its box
    height, width = region.mask.shape
    out = []
    for index, outline in enumerate(local, start=1):  # each on its own box: a region of thousands
        rows, cols = outline.slices  # of particles (carbon film) is not copied once per particle
        r0, r1 = max(0, rows.start - reach), min(height, rows.stop + reach)
        c0, c1 = max(0, cols.start - reach), min(width, cols.stop + reach)
        mask = np.zeros((r1 - r0, c1 - c0), bool)
        mask[rows.start - r0 : rows.stop - r0, cols.start - c0 : cols.stop - c0] = outline.mask
        mask |= (grown[r0:r1, c0:c1] == index) & (visible[r0:r1, c0:c1] == 0)
        out.append(crop_region(mask, region.top + r0, region.left + c0, separated=True))
    return out


def _outlines(field: ShapeField, binary: np.ndarray, labels: np.ndarray, settings) -> dict[int, list[Region]]:
    """The outlines kept by non-maximum suppression, clipped to the map region their centre
    lies in, by region label (outlines with too little support in the map are rejected)."""
    peaks = candidates(field.objects, settings.object_threshold)
    points = field.points(peaks)
    rows, cols = np.rint(points).astype(np.int64).T
    h, w = binary.shape
    inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    inside[inside] = binary[rows[inside], cols[inside]]
    peaks, points = peaks[inside], points[inside]
    owner = labels[rows[inside], cols[inside]]
    scores = field.objects[peaks[:, 0], peaks[:, 1]]
    kept = suppress(
        points,
        field.distances(peaks),
        scores,
        binary.shape,
        settings.max_outline_overlap,
        settings.max_round_outline_overlap,
    )
    outlines: dict[int, list[Region]] = {}
    for index, polygon in kept:
        clipped = _within(polygon, labels, owner[index])
        if clipped is not None and clipped.area_px >= MIN_SUPPORT * polygon.area_px:
            outlines.setdefault(int(owner[index]), []).append(clipped)
    return outlines


def _coarse_outlines(
    fields, binary: np.ndarray, labels: np.ndarray, regions, settings
) -> dict[int, list[Region]]:
    """Outlines of the coarse pass by region label, each region's from the first window that
    holds all of it (windows may overlap: one region, one set of outlines)."""
    out: dict[int, list[Region]] = {}
    for field in fields:
        for value, found in _outlines(field, binary, labels, settings).items():
            rows, cols = regions[value - 1].slices
            if value not in out and field.contains(rows.start, cols.start, rows.stop, cols.stop):
                out[value] = found
    return out


def _fine_outlines(
    field: ShapeField, binary: np.ndarray, labels: np.ndarray, regions, outlines, settings
) -> dict[int, list[Region]]:
    """Outlines of the fine pass (the image enlarged by :data:`~.rafts.FINE_ZOOMS`) for the
    regions whose inside is textured like a raft of small particles
    (:func:`~.rafts.texture_contrast`), where they explain it as a raft
    (:func:`~.rafts.is_raft`) of :data:`~.rafts.FINE_MIN_OUTLINES` or more, meeting on brighter
    gaps (:func:`~.rafts.gap_contrast`), with more particles than the outlines so far; of the
    zooms, the one giving the most, and only when the zooms agree on the particles' size
    (:func:`~.rafts.size_agreement`: pieces of a textured particle shrink as the zoom grows).
    Rafts of 8-14 px particles are one or a few objects to the native pass. Their outlines are
    not grown to the map, which covers the raft's gaps. (From 2,000 px, textured single
    particles of EMPS, a rod with domains, hollow cubes and a porous sphere, were cut into 10-62
    pieces.)"""
    out = {}
    for value, region in enumerate(regions, start=1):
        if region.area_px < FINE_MIN_AREA_PX or region.mask.size * min(FINE_ZOOMS) ** 2 > FINE_MAX_INPUT_PX:
            continue  # too small for a raft, or too large for any fine pass (carbon film)
        texture = texture_contrast(region, field.image, binary)
        if texture is None or texture < FINE_MIN_TEXTURE:
            continue
        rows, cols = region.slices
        box = (rows.start, cols.start, rows.stop, cols.stop)
        passes = {zoom: field.fine_pass(box, zoom) for zoom in FINE_ZOOMS}
        found = {
            zoom: _outlines(fine, binary, labels, settings).get(value, [])
            for zoom, fine in passes.items()
            if fine is not None
        }
        agreement = size_agreement(found)
        if agreement is not None and agreement < FINE_MIN_SIZE_AGREEMENT:
            continue  # pieces of the head's own size, not particles
        best = outlines.get(value, [])
        for pieces in found.values():
            enough = len(pieces) >= max(FINE_MIN_OUTLINES, len(best) + 1)
            if not (enough and is_raft(pieces, region, FINE_MIN_COVER, FINE_MAX_SPREAD)):
                continue
            if gap_contrast(pieces, region, field.image) >= FINE_MIN_GAP:
                best = out[value] = pieces
    return out


def _coarse_regions(wide: dict[int, float], coarse: dict[int, list[Region]]) -> list[int]:
    """The ``wide`` regions (:func:`~nanosizer.segment.shapes.wide_regions`) that the coarse
    pass explains with particles wider than :data:`OUTLINE_SIZES_PX`, or longer than any the
    head was trained on (:data:`OUTLINE_LENGTH_PX`), over most of their outlines' area
    (:func:`~nanosizer.regions.area_weighted_median`: a 92 px particle cut by a scale bar into
    itself and a 43 px sliver is a large particle, not a median 67 px one): large particles and
    long rods, which the native pass cuts into pieces of the sizes it knows. (A wide region of
    touching small particles the map merged keeps its native outlines: there the coarse pass
    also sees small particles.)"""
    larger = []
    for value in wide:
        found = coarse.get(value, [])
        if not found:
            continue
        areas = [o.area_px for o in found]
        if area_weighted_median([inscribed_width(o.mask) for o in found], areas) > OUTLINE_SIZES_PX[1]:
            larger.append(value)
        elif area_weighted_median([feret_diameters(o.mask)[1] for o in found], areas) > OUTLINE_LENGTH_PX:
            larger.append(value)
    return larger


def _within(polygon: Region, labels: np.ndarray, value: int) -> Region | None:
    """The polygon's pixels that belong to region ``value`` of the map, cropped (None if none)."""
    mask = polygon.mask & (labels[polygon.slices] == value)
    return crop_region(mask, polygon.top, polygon.left, separated=True) if mask.any() else None


def _exclude_leftovers(labels: np.ndarray, result) -> None:
    """Pieces of the map that no kept outline covers: a whole region that got no outline always
    (nothing the map found is dropped in silence, however small), a remnant of a region that
    did only if large enough to be a particle (not a sliver between outlines)."""
    covered = np.zeros(labels.shape, bool)
    for p in result.particles:
        covered[p.slices] |= p.mask
    explained = np.zeros(labels.max() + 1, bool)
    explained[labels[covered]] = True  # regions that hold a particle
    covered = ndi.binary_dilation(covered, iterations=2)
    left, _ = ndi.label((labels > 0) & ~covered, structure=np.ones((3, 3), bool))
    typical = np.median([p.area_px for p in result.particles]) if result.particles else 0.0
    for piece in regions_from_labels(left):
        whole_region = not explained[labels[piece.slices][piece.mask][0]]  # its map region has no particle
        if whole_region or piece.area_px >= max(LEFTOVER_FRACTION * typical, 9):
            reason = leftover_reason(piece, labels.shape)
            result.excluded.append(excluded_entry(piece, reason))
            result.excluded_regions.append((piece, reason))


BORDER_REASON = "cut by the border"
SMALLEST_OUTLINED_PX = 5.0  # the shape head outlines nothing narrower (training-shapes-v5's smallest)


def leftover_reason(piece: Region, shape: tuple[int, int]) -> str:
    """Why a piece of the particle map got no particle, in a few words: cut by the image border,
    narrower than the head outlines, thin strokes (text, scale bars, arrows: long for their
    width), or no outline from the network."""
    if piece.touches_border(shape):
        return BORDER_REASON
    width = 2.0 * float(ndi.distance_transform_edt(np.pad(piece.mask, 1)).max())  # stroke width, holes open
    if width < SMALLEST_OUTLINED_PX:
        return "too small to outline"
    if width <= 0.25 * max(piece.mask.shape) and piece.area_px < 0.5 * piece.mask.size:
        return "thin strokes: text or a mark?"
    return "no learned outline"
