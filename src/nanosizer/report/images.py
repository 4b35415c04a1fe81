"""Image outputs: instance labels (TIFF), binary map and overlay with scale bar (PNG)."""

from __future__ import annotations

from collections import Counter

import numpy as np
from skimage.segmentation import find_boundaries

from ..intensity import normalise
from ..regions import Region, paint_labels
from ..text import text_mask

PARTICLE_RGB = (0, 220, 255)  # cyan: particles as segmented
SEPARATED_RGB = (255, 60, 200)  # magenta: particles split off an overlap
EXCLUDED_RGB = (255, 150, 0)  # orange: segmented but not measured (reason written beside it)
NICE_LENGTHS = (1, 2, 5)
MAX_LABELS = 12  # more excluded regions than this get a legend of their reasons instead of labels
BANNER_RGB = {"doubtful": (200, 125, 0), "unreliable": (180, 0, 0)}  # quality verdicts worth a banner


def overlay_image(
    image: np.ndarray,
    particles: list[Region],
    pixel_size_nm: float,
    excluded: list[tuple[Region, str]] = (),
    quality=None,
) -> np.ndarray:
    """RGB uint8: the micrograph with particle outlines, excluded regions and a scale bar.

    Outlines are drawn per particle on its crop, so overlapping particles both stay visible;
    particles split off an overlap are drawn in :data:`SEPARATED_RGB`, and where an outline
    runs under another particle (a hidden part) it is dashed. What was segmented but
    not measured (``excluded``: region and short reason) is tinted and outlined in
    :data:`EXCLUDED_RGB` with its reason written beside it. The scale bar sits in a strip added
    below the image, so it never hides a particle. A doubtful or unreliable ``quality``
    (:class:`~nanosizer.quality.Quality`) gets a banner above the image saying so and why.
    """
    grey = (normalise(image) * 255).astype(np.uint8)
    rgb = np.repeat(grey[..., None], 3, axis=2)
    visible = paint_labels(particles, image.shape)
    measured = visible > 0
    for region, _ in excluded:
        view = rgb[region.slices]
        left_out = region.mask & ~measured[region.slices]
        view[left_out] = (view[left_out] * 0.5 + np.array(EXCLUDED_RGB) * 0.5).astype(np.uint8)
        view[find_boundaries(np.pad(region.mask, 1), mode="inner")[1:-1, 1:-1]] = EXCLUDED_RGB
    for k, region in enumerate(particles, start=1):
        edge = find_boundaries(np.pad(region.mask, 1), mode="inner")[1:-1, 1:-1]
        rows, cols = np.nonzero(edge)
        owner = visible[region.slices][rows, cols]
        gap = (owner != k) & (owner > 0) & (((rows + region.top + cols + region.left) // 3) % 2 == 1)
        view = rgb[region.slices]
        view[rows[~gap], cols[~gap]] = SEPARATED_RGB if region.separated else PARTICLE_RGB
    written = np.zeros(image.shape, bool)
    written |= measured  # labels go beside particles, not over them
    if len(excluded) <= MAX_LABELS:
        for region, reason in excluded:
            _label(rgb, reason, region, written)
    rgb = with_scale_bar(rgb, pixel_size_nm)
    if len(excluded) > MAX_LABELS:  # too many to label one by one: a legend of the reasons below
        counts = Counter(reason for _, reason in excluded)
        text = f"orange: {len(excluded)} regions not measured: " + ", ".join(
            f"{n} {r}" for r, n in counts.most_common()
        )
        rgb = with_banner(rgb, text, (60, 40, 0), below=True)
    if quality is not None and quality.verdict in BANNER_RGB:
        rgb = with_banner(rgb, quality.text, BANNER_RGB[quality.verdict])
    return rgb


def with_banner(rgb: np.ndarray, text: str, colour: tuple[int, int, int], below: bool = False) -> np.ndarray:
    """The image with a coloured strip above it (``below``: under it) holding ``text`` in white,
    as large as fits the width (cut at a word, with an ellipsis, when even small type does not fit)."""
    h, w = rgb.shape[:2]
    margin = max(2, w // 100)
    text_h = int(np.clip(w // 50, 9, 28))
    mask = text_mask(text, text_h)
    while mask.shape[1] > w - 2 * margin and text_h > 9:
        text_h -= 1
        mask = text_mask(text, text_h)
    words = text.split()
    while mask.shape[1] > w - 2 * margin and len(words) > 1:
        words = words[:-1]
        mask = text_mask(" ".join(words) + " [...]", text_h)
    strip = np.empty((mask.shape[0] + 2 * margin, w, 3), np.uint8)
    strip[:] = colour
    width = min(mask.shape[1], w - 2 * margin)
    strip[margin : margin + mask.shape[0], margin : margin + width][mask[:, :width]] = 255
    return np.concatenate([rgb, strip] if below else [strip, rgb], axis=0)


def _label(rgb: np.ndarray, text: str, region: Region, written: np.ndarray) -> None:
    """Write ``text`` in the excluded colour just above a region (inside it when no room),
    moved down past labels already ``written`` (updated) and measured particles (marked there
    too) so that none overwrites another or hides a particle; left out when no such place is
    found or the text is wider than the image (the legend of :func:`overlay_image` then counts it)."""
    h, w = rgb.shape[:2]
    mask = text_mask(text, int(np.clip(min(h, w) // 40, 9, 16)))
    th, tw = mask.shape
    if tw > w or th > h:
        return
    top = region.top - th - 2 if region.top - th - 2 >= 0 else min(region.top + 2, h - th)
    left = min(max(0, region.left), w - tw)
    while written[top : top + th, left : left + tw].any() and top + 2 * th + 1 <= h:
        top += th + 1
    if written[top : top + th, left : left + tw].any():
        return
    written[top : top + th, left : left + tw] = True
    rgb[top : top + th, left : left + tw][mask] = EXCLUDED_RGB


def scale_bar_length_nm(image_width_nm: float) -> float:
    """A round length (1, 2 or 5 × 10^k nm) close to a fifth of the image width."""
    target = image_width_nm / 5.0
    exponent = np.floor(np.log10(target))
    candidates = [m * 10**exponent for m in NICE_LENGTHS] + [10 ** (exponent + 1)]
    return float(max(c for c in candidates if c <= target) if target >= candidates[0] else candidates[0])


def with_scale_bar(rgb: np.ndarray, pixel_size_nm: float) -> np.ndarray:
    """The image with a dark strip below it holding a white scale bar and its length.

    Bar, text and strip are sized with the image (the text shrinks until it fits beside the
    bar), so small images get a legible bar and large ones not a tiny one.
    """
    h, w = rgb.shape[:2]
    length_nm = scale_bar_length_nm(w * pixel_size_nm)
    bar_px = max(1, round(length_nm / pixel_size_nm))
    margin = max(3, w // 60)
    text_h = int(np.clip(max(h, w) // 40, 9, 48))
    label = _format_length(length_nm)
    text = text_mask(label, text_h)
    while text.shape[1] > w - bar_px - 3 * margin and text_h > 6:
        text_h -= 1
        text = text_mask(label, text_h)
    strip_h = text.shape[0] + 2 * margin
    strip = np.full((strip_h, w, 3), 24, np.uint8)
    thick = max(2, text.shape[0] // 3)
    y0 = (strip_h - thick) // 2
    strip[y0 : y0 + thick, margin : margin + min(bar_px, w - 2 * margin)] = 255
    tx0 = margin + bar_px + margin
    if tx0 + text.shape[1] <= w:
        strip[margin : margin + text.shape[0], tx0 : tx0 + text.shape[1]][text] = 255
    return np.concatenate([rgb, strip], axis=0)


def _format_length(nm: float) -> str:
    if nm >= 1000:
        return f"{nm / 1000:g} µm"
    return f"{nm:g} nm"
