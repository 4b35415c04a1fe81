"""Image outputs: instance labels (TIFF), binary map and overlay with scale bar (PNG)."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from skimage.segmentation import find_boundaries

from ..regions import Region
from ..segment.preprocess import normalise
from .atomic import atomic_path

PARTICLE_RGB = (0, 220, 255)  # cyan: particles as segmented
SEPARATED_RGB = (255, 60, 200)  # magenta: particles split off an overlap
NICE_LENGTHS = (1, 2, 5)


def write_labels_tiff(labels: np.ndarray, target: str | Path, pixel_size_nm: float) -> None:
    """Instance labels as an ImageJ-calibrated TIFF (nm), so ImageJ and nanosizer read the scale."""
    import tifffile

    with atomic_path(target) as tmp:
        tifffile.imwrite(
            tmp,
            labels,
            imagej=True,
            resolution=(1 / pixel_size_nm, 1 / pixel_size_nm),
            metadata={"unit": "nm"},
            compression="zlib",
        )


def write_png(image: np.ndarray, target: str | Path) -> None:
    """An 8-bit grey or RGB PNG (an RGB of greys and a few colours, as overlays are, is
    written with a palette: a third of the bytes to compress, the same picture)."""
    from PIL import Image

    picture = _palette_image(image) if image.ndim == 3 else None
    if picture is None:
        picture = Image.fromarray(np.ascontiguousarray(image))
    with atomic_path(target) as tmp:
        # Fast zlib level: level 6 costs ~0.7 s on a 2048² overlay for a few % smaller files.
        picture.save(tmp, format="PNG", compress_level=1)


def _palette_image(rgb: np.ndarray, max_colours: int = 8):
    """A palette ('P') image of an RGB array of greys plus at most ``max_colours`` colours
    (greys kept to 248 levels or more), or None when it has more colours."""
    from PIL import Image

    grey = (rgb[..., 0] == rgb[..., 1]) & (rgb[..., 1] == rgb[..., 2])
    colours, inverse = np.unique(rgb[~grey], axis=0, return_inverse=True)
    if len(colours) > max_colours:
        return None
    levels = 256 - len(colours)
    index = ((rgb[..., 0].astype(np.uint32) * (levels - 1) + 127) // 255).astype(np.uint8)
    index[~grey] = levels + inverse.ravel()
    greys = np.round(np.arange(levels) * 255 / (levels - 1)).astype(np.uint8)
    palette = np.concatenate([np.repeat(greys[:, None], 3, axis=1), colours.astype(np.uint8)])
    picture = Image.fromarray(index, mode="P")
    picture.putpalette(palette.ravel().tolist())
    return picture


def overlay_image(image: np.ndarray, particles: list[Region], pixel_size_nm: float) -> np.ndarray:
    """RGB uint8: the micrograph with particle outlines and a scale bar in the lower right.

    Outlines are drawn per particle on its crop, so overlapping particles both stay visible;
    particles split off an overlap are drawn in :data:`SEPARATED_RGB`.
    """
    grey = (normalise(image) * 255).astype(np.uint8)
    rgb = np.repeat(grey[..., None], 3, axis=2)
    for region in particles:
        edge = find_boundaries(np.pad(region.mask, 1), mode="inner")[1:-1, 1:-1]
        view = rgb[region.slices]
        view[edge] = SEPARATED_RGB if region.separated else PARTICLE_RGB
    draw_scale_bar(rgb, pixel_size_nm)
    return rgb


def scale_bar_length_nm(image_width_nm: float) -> float:
    """A round length (1, 2 or 5 × 10^k nm) close to a fifth of the image width."""
    target = image_width_nm / 5.0
    exponent = np.floor(np.log10(target))
    candidates = [m * 10**exponent for m in NICE_LENGTHS] + [10 ** (exponent + 1)]
    return float(max(c for c in candidates if c <= target) if target >= candidates[0] else candidates[0])


def draw_scale_bar(rgb: np.ndarray, pixel_size_nm: float) -> None:
    """Draw a white bar with a black frame and its length as text, in place."""
    h, w = rgb.shape[:2]
    length_nm = scale_bar_length_nm(w * pixel_size_nm)
    bar_px = max(1, round(length_nm / pixel_size_nm))
    thick = max(2, h // 100)
    margin = max(4, w // 40)
    text = text_mask(_format_length(length_nm), max(8, h // 30))
    x1 = w - margin
    x0 = max(0, x1 - bar_px)
    y1 = h - margin
    y0 = y1 - thick
    ty1 = y0 - max(2, thick)
    ty0 = ty1 - text.shape[0]
    tx0 = max(0, (x0 + x1) // 2 - text.shape[1] // 2)
    box = rgb[max(0, ty0 - thick) : min(h, y1 + thick), max(0, min(x0, tx0) - thick) : min(w, x1 + thick)]
    box[...] = (box * 0.35).astype(np.uint8)  # dark backdrop so the bar reads on any image
    rgb[y0:y1, x0:x1] = 255
    if ty0 >= 0 and tx0 + text.shape[1] <= w:
        region = rgb[ty0:ty1, tx0 : tx0 + text.shape[1]]
        region[text] = 255


def _format_length(nm: float) -> str:
    if nm >= 1000:
        return f"{nm / 1000:g} µm"
    return f"{nm:g} nm"


@functools.lru_cache(maxsize=256)
def _text_mask_cached(text: str, height_px: int) -> np.ndarray:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    dpi = 100
    fig = Figure(figsize=(height_px * len(text) * 0.8 / dpi, height_px * 1.4 / dpi), dpi=dpi)
    canvas = FigureCanvasAgg(fig)
    fig.text(0.5, 0.5, text, ha="center", va="center", fontsize=height_px * 72 / dpi, color="black")
    canvas.draw()
    alpha = np.asarray(canvas.buffer_rgba())[..., 0] < 128
    rows = np.flatnonzero(alpha.any(axis=1))
    cols = np.flatnonzero(alpha.any(axis=0))
    if rows.size == 0:
        return np.zeros((1, 1), bool)
    return alpha[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def text_mask(text: str, height_px: int) -> np.ndarray:
    """Render text to a boolean mask with matplotlib's Agg backend (no display needed).

    Renderings are cached (labels repeat across images); each call returns a fresh copy.
    """
    return _text_mask_cached(text, int(height_px)).copy()
