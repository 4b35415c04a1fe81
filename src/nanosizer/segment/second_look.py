"""A second look for particles much paler than the darkest in view.

The network judges a particle's darkness against what else the image holds: beside black
particles, grey ones of the same kind (another crystal orientation, a thinner or lighter
particle: diffraction and mass-thickness contrast) read as background. After the first pass,
the particles it found are painted over with the background's level and the image is
normalised again, so the pale ones get the full contrast range; the network's answer there is
taken where the original image confirms it: compact regions darker than the background by
three times its noise and by a fifth of the darkest particles' contrast at least. Images
without such pale regions cost nothing: the second pass runs only when the image holds
candidates for it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
from scipy import ndimage as ndi

from ..intensity import normalise
from ..regions import label_medians
from .shapes import ShapeField

PALER_MIN_NOISE = 3.0  # a pale particle is darker than the background by this many noise σ (robust)
PALER_MIN_SHARE = 0.2  # and by this share of the darkest particles' contrast at least
PALER_MIN_AREA = 0.25  # and at least this share of the found particles' median area (px)
PALER_MIN_SOLIDITY = 0.8  # and compact: grey smudges of film and grain clumps are not (0.5-0.7)
SMALLEST_PX = 30  # never smaller than this: noise, not a particle
COVER_MARGIN_PX = 3  # the found particles are painted over with this margin (their dark rim)
DARKEST_PERCENTILE = 10  # the darkest particles' level: this percentile of the found pixels
DARK_SHARE = 0.5  # found regions at least this share as dark as the darkest are painted over
SETTLED = 0.9  # probability over half of a pale region from which the first pass's answer stands
NOISE_SIGMA_PX = 1.0  # the original image smoothed this much before it is compared
SAMPLE_PX = 1_000_000  # from 4× this, pale regions are searched for on every other pixel (a
# sparser sample is too coarse: on every 8th pixel of a generated 8192² scene the search found
# candidates and the second pass ran, 64 tiles more and +1 GB; on every other pixel it finds none)


@dataclasses.dataclass(frozen=True)
class PaleScale:
    """What the first pass tells about an image (``smoothed``: the normalised image smoothed
    by :data:`NOISE_SIGMA_PX`): the level below which a region counts as a pale particle,
    the dark particles to paint over (found regions at least :data:`DARK_SHARE` as dark as the
    darkest, grown by :data:`COVER_MARGIN_PX`; pale ones the first pass found in part stay, to
    be seen whole), everything found (grown alike), the smallest area a pale particle has and
    the image pixels each pixel here stands for (a sample of a large image: ``step``²)."""

    cut: float
    dark: np.ndarray
    found: np.ndarray
    least_px: float
    smoothed: np.ndarray
    px_area: int = 1


def pale_scale(data: np.ndarray, found: np.ndarray, step: int = 1) -> PaleScale | None:
    """The :class:`PaleScale` of ``data`` (normalised, dark particles) given the first pass's
    map ``found``, on every ``step``-th pixel; None when nothing was found or nothing is left
    around it. The background's noise is its median absolute deviation (pale particles do not
    inflate it)."""
    data, found = data[::step, ::step], found[::step, ::step]
    if not found.any():
        return None
    margin = max(1, round(COVER_MARGIN_PX / step))
    grown = ndi.binary_dilation(found, iterations=margin)
    if grown.all():
        return None
    smoothed = ndi.gaussian_filter(data.astype(np.float32), NOISE_SIGMA_PX)
    background = smoothed[~grown]
    level = float(np.median(background))
    noise = 1.4826 * float(np.median(np.abs(background - level)))
    contrast = level - float(np.percentile(smoothed[found], DARKEST_PERCENTILE))
    if contrast <= 0:
        return None
    labels, count = ndi.label(found)
    darkness = level - label_medians(smoothed, labels, count)
    dark = ndi.binary_dilation(
        np.concatenate([[False], darkness >= DARK_SHARE * contrast])[labels], iterations=margin
    )
    areas = np.bincount(labels.ravel(), minlength=count + 1)[1:] * step**2
    areas = areas[areas >= SMALLEST_PX]
    least = max(SMALLEST_PX, PALER_MIN_AREA * float(np.median(areas))) if areas.size else SMALLEST_PX
    cut = level - max(PALER_MIN_NOISE * noise, PALER_MIN_SHARE * contrast)
    return PaleScale(cut, dark, grown, least, smoothed, step**2)


def missed_pale_regions(
    mask: np.ndarray, scale: PaleScale, probability: np.ndarray
) -> tuple[np.ndarray, int]:
    """The connected regions of ``mask`` as large as a pale particle, whose median smoothed
    intensity lies below the scale's cut, at least :data:`PALER_MIN_SOLIDITY` solid and that
    the first pass missed or half-found (``probability``, on the same grid, below
    :data:`SETTLED` over half of them: what it found of the others stands), and their number."""
    from skimage.measure import regionprops

    labels, count = ndi.label(mask)
    if count == 0:
        return np.zeros_like(mask), 0
    areas = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    sure = np.bincount(labels.ravel(), weights=(probability >= SETTLED).ravel(), minlength=count + 1)[1:]
    keep = (
        (areas * scale.px_area >= scale.least_px)
        & (label_medians(scale.smoothed, labels, count) < scale.cut)
        & (sure <= 0.5 * areas)
    )
    for region in regionprops(labels):
        if keep[region.label - 1] and region.solidity < PALER_MIN_SOLIDITY:
            keep[region.label - 1] = False
    return np.concatenate([[False], keep])[labels], int(keep.sum())


def second_look(
    data: np.ndarray,
    probability: np.ndarray,
    shapes: ShapeField | None,
    look: Callable[[np.ndarray], tuple[np.ndarray, ShapeField | None]],
    threshold: float = 0.5,
) -> tuple[np.ndarray, ShapeField | None, int]:
    """``probability`` and ``shapes`` of the first pass with the pale particles the second one
    finds (:func:`look` runs the network on an image normalised like ``data``), and how many
    regions were added. Unchanged, without a second pass, when the image shows no candidates."""
    found = probability > threshold
    step = 2 if data.size >= 4 * SAMPLE_PX else 1  # large images: decided on every other pixel
    sampled = pale_scale(data, found, step)
    if sampled is None:
        return probability, shapes, 0
    candidates = (sampled.smoothed < sampled.cut) & ~sampled.dark
    if not missed_pale_regions(candidates, sampled, probability[::step, ::step])[1]:
        return probability, shapes, 0  # nothing pale, compact and missed: no second pass
    scale = sampled if step == 1 else pale_scale(data, found)
    if scale is None:
        return probability, shapes, 0
    peeled = data.copy()
    peeled[scale.dark] = np.median(data[~scale.found])
    again, again_shapes = look(normalise(peeled))
    pale, added = missed_pale_regions((again > threshold) & ~scale.dark, scale, probability)
    if added == 0:
        return probability, shapes, 0
    merged = np.where(pale, np.maximum(again, probability), probability)
    if shapes is None or again_shapes is None:
        return merged, shapes, added
    grid = _on_grid(ndi.binary_dilation(pale, iterations=COVER_MARGIN_PX), shapes.objects.shape)
    merged_shapes = dataclasses.replace(
        shapes,
        objects=np.where(grid, again_shapes.objects, shapes.objects),
        rays=np.where(grid[None], again_shapes.rays, shapes.rays),
    )
    return merged, merged_shapes, added


def _on_grid(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A pixel mask on the shape head's coarser grid: a grid cell is in it when any pixel
    within one cell's reach is."""
    from skimage.transform import resize

    reach = int(np.ceil(max(mask.shape[0] / shape[0], mask.shape[1] / shape[1])))
    spread = ndi.maximum_filter(mask, size=reach)
    return resize(spread, shape, order=0, anti_aliasing=False, preserve_range=True).astype(bool)
