"""From a binary particle map to individual particles: classify, split overlaps, drop border cuts."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage as ndi

from ..measure.geometry import contour_geometry, is_convex
from ..regions import Region, crop_region, regions_from_mask
from ..segment.cleanup import circle_area_px
from ..segment.shapes import ShapeField
from .excluded import excluded_entry
from .learned import learned_split
from .uecs import uecs_split
from .watershed import watershed_split


@dataclass
class Separation:
    """Particles found in a binary map, plus what was left out and why.

    ``excluded`` lists one dict per region or piece not measured: bbox in px and the reason;
    ``excluded_regions`` holds each such region once with a short reason (for drawing).
    ``border_removed`` counts particles dropped for touching the image edge, ``border_particles``
    holds them.
    """

    particles: list[Region]
    excluded: list[dict] = field(default_factory=list)
    excluded_regions: list[tuple[Region, str]] = field(default_factory=list)
    border_particles: list[Region] = field(default_factory=list)
    border_removed: int = 0
    regions: int = 0
    non_convex_regions: int = 0
    coarse_regions: int = 0  # learned: regions wider than the shape head knows, predicted again coarser
    fine_regions: int = 0  # learned: rafts of particles too small for the head, outlined enlarged


def count_holes(mask: np.ndarray) -> int:
    """Number of background holes (4-connected) enclosed by a region crop."""
    background, count = ndi.label(~np.pad(mask, 1))
    return count - 1


def separate_particles(
    mask: np.ndarray, pixel_size_nm: float, settings, shapes: ShapeField | None = None
) -> Separation:
    """Find particles in a cleaned binary map and split the overlapping ones.

    Parameters
    ----------
    mask : (M, N) bool ndarray
        Binary particle map after speck removal and hole filling.
    pixel_size_nm : float
        Pixel size, for the 0.5 nm marker size limit.
    settings : Settings
        ``separation``, the convexity thresholds, ``min_convexity``, ``max_holes``,
        ``min_marker_px``, ``watershed_h_px`` and ``remove_border``.
    shapes : ShapeField, optional
        The network's outline predictions: required by ``separation='learned'``
        (:mod:`.learned`), used by ``'auto'`` when given (else ``'auto'`` is UECS), ignored
        otherwise.
    """
    result = Separation(particles=[])
    if settings.separation == "auto":
        settings = settings.replace(separation="uecs" if shapes is None else "learned")
    if settings.separation == "learned":
        if shapes is None:
            raise ValueError("learned separation needs the network's outline predictions (shapes=)")
        learned_split(mask, shapes, settings, result)
        _drop_border(result, mask.shape, settings)
        return result
    regions = regions_from_mask(mask)
    result.regions = len(regions)
    convex = []
    for region in regions:
        region.geometry = contour_geometry(region.mask)
        convex.append(is_convex(region.geometry, settings.convexity_threshold, settings.solidity_threshold))
    single = [r for r, c in zip(regions, convex, strict=True) if c]
    min_marker = marker_limit_px(single, pixel_size_nm, settings)
    result.non_convex_regions = len(regions) - len(single)
    for region, is_single in zip(regions, convex, strict=True):
        if is_single:
            result.particles.append(region)
            continue
        geom = region.geometry
        holes = count_holes(region.mask)
        if geom.convexity < settings.min_convexity or holes > settings.max_holes:
            why = (
                f"convexity {geom.convexity:.2f}"
                if geom.convexity < settings.min_convexity
                else f"{holes} holes"
            )
            result.excluded.append(excluded_entry(region, f"unseparable ({why})"))
            result.excluded_regions.append((region, "unseparable"))
            continue
        if settings.separation == "none":
            result.particles.append(region)
            continue
        _split(region, settings, min_marker, result)
    _drop_border(result, mask.shape, settings)
    return result


def _drop_border(result: Separation, shape: tuple[int, int], settings) -> None:
    if settings.remove_border:
        kept = [p for p in result.particles if not p.touches_border(shape)]
        result.border_particles = [p for p in result.particles if p.touches_border(shape)]
        result.border_removed = len(result.border_particles)
        result.particles = kept


def marker_limit_px(single: list[Region], pixel_size_nm: float, settings) -> float:
    """Smallest UECS marker kept, in px: ``min_marker_px``, lowered for small particles.

    With ``min_marker_fraction`` > 0 the limit is at most that fraction of the median area of
    the image's single (convex) particles, never below 6 px: the pieces left when overlapping
    particles come apart shrink with the particles, and a fixed 30 px drops whole clusters of
    ~20 px particles. Never below a ``min_particle_ecd_nm`` circle.
    """
    limit = float(settings.min_marker_px)
    if settings.min_marker_fraction > 0 and single:
        typical = float(np.median([r.area_px for r in single]))
        limit = min(limit, max(6.0, settings.min_marker_fraction * typical))
    return max(limit, circle_area_px(settings.min_particle_ecd_nm, pixel_size_nm))


def _split(region: Region, settings, min_marker: float, result: Separation) -> None:
    if settings.separation == "uecs":
        pieces, discarded = uecs_split(
            region.mask,
            min_marker,
            settings.convexity_threshold,
            settings.solidity_threshold,
            with_geometry=True,
            rounds=settings.uecs_rounds,
        )
        for _ in range(discarded):
            result.excluded.append(excluded_entry(region, "UECS piece non-convex after regrowth"))
        if not pieces:
            result.excluded.append(excluded_entry(region, "UECS found no convex marker"))
            result.excluded_regions.append((region, "no convex marker"))
        elif discarded:
            result.excluded_regions.append((region, "non-convex part"))
    else:
        pieces = [(piece, None) for piece in watershed_split(region.mask, settings.watershed_h_px)]
    separated = len(pieces) > 1 or settings.separation == "uecs"
    for piece, geom in pieces:
        result.particles.append(_crop_piece(piece, region, separated, geom))


def _crop_piece(piece: np.ndarray, region: Region, separated: bool, geometry=None) -> Region:
    """The piece cut to its own box (contour measures do not change with the crop)."""
    crop = crop_region(piece, region.top, region.left, separated)
    crop.geometry = geometry
    return crop
