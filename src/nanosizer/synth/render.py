"""Image formation: mass-thickness contrast, carbon film, optics, detector, distractors."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from .scene import SceneParams


def correlated_noise(shape, rng: np.random.Generator, scales_px=(2, 8, 32, 128)) -> np.ndarray:
    """Zero-mean, unit-std noise with structure at several length scales (amorphous carbon)."""
    out = np.zeros(shape, np.float32)
    for s in scales_px:
        small = tuple(max(2, int(np.ceil(n / max(s / 2, 1)))) for n in shape)
        field = ndi.gaussian_filter(rng.standard_normal(small).astype(np.float32), 1.0)
        zoomed = ndi.zoom(field, (shape[0] / small[0], shape[1] / small[1]), order=1)[: shape[0], : shape[1]]
        out += zoomed / (zoomed.std() + 1e-6)
    return out / (out.std() + 1e-6)


def background_thickness(params: SceneParams, rng: np.random.Generator) -> np.ndarray:
    """Relative carbon attenuation: texture, occasional thicker patches and film edges."""
    shape = params.size_px
    att = params.carbon_texture * correlated_noise(shape, rng)
    if rng.random() < params.thick_carbon:
        blob = correlated_noise(shape, rng, scales_px=(256,))
        att += 0.3 * rng.uniform(0.3, 1.0) * (blob > 1.0)
        att = ndi.gaussian_filter(att, 3)
    return att


def illumination(params: SceneParams, rng: np.random.Generator) -> np.ndarray:
    """Smooth uneven illumination, mean 1."""
    h, w = params.size_px
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    gy, gx = rng.uniform(-1, 1, 2) * params.illumination
    field = 1.0 + gy * (yy / h - 0.5) + gx * (xx / w - 0.5)
    return field.astype(np.float32)


def fringes(shape, rng: np.random.Generator, period_px: float) -> np.ndarray:
    """Lattice fringes of one period and orientation, values in [-1, 1]."""
    ang = rng.uniform(0, np.pi)
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    return np.cos(2 * np.pi * (xx * np.cos(ang) + yy * np.sin(ang)) / period_px + rng.uniform(0, 6.3))


def detector(intensity: np.ndarray, params: SceneParams, rng: np.random.Generator) -> np.ndarray:
    """Blur (PSF), shot noise at the dose, gain/offset and conversion to the output dtype."""
    if params.blur_px > 0:
        intensity = ndi.gaussian_filter(intensity, params.blur_px)
    counts = rng.poisson(np.clip(intensity, 0, None) * params.dose).astype(np.float32) / params.dose
    if params.saturate:
        # A contrast setting that clips: thick particles read as black, background near white
        # (figure-like and transmission-SEM images).
        floor = rng.uniform(0.15, 0.45)
        counts = np.clip((counts - floor) / (1.0 - floor), 0.0, None)
    if params.dtype == "float32":
        return counts.astype(np.float32)
    top = 255 if params.dtype == "uint8" else 65535
    level = rng.uniform(0.8, 0.97) if params.saturate else rng.uniform(0.55, 0.8)
    gain = top * level / max(float(np.percentile(counts, 99.5)), 1e-6)
    offset = 0.0 if params.saturate else rng.uniform(0, 0.05) * top
    return np.clip(counts * gain + offset, 0, top).astype(params.dtype)


def draw_distractors(image: np.ndarray, params: SceneParams, rng: np.random.Generator):
    """Burned-in scale bars, text, info bars, contamination and film edges (all background).

    Returns the new image and the mask of pixels painted over (no particle is visible there).
    """
    from ..text import text_mask

    h, w = image.shape
    covered = np.zeros((h, w), bool)
    lo, hi = float(np.percentile(image, 0.5)), float(np.percentile(image, 99.8))
    if params.black_labels:  # figure panels: annotations darker than any particle
        lo = 0.0
    out = image.astype(np.float32)
    for kind in params.distractors:
        if kind == "contamination":
            for _ in range(int(rng.integers(1, 4))):
                blob = correlated_noise((h, w), rng, scales_px=(int(rng.integers(16, 96)),)) > 2.2
                out = np.where(blob, out * rng.uniform(0.8, 0.93), out)
        elif kind == "smudge":  # organic residue: grey, irregular, soft-edged, never a particle
            for _ in range(int(rng.integers(2, 8))):
                scale = int(rng.integers(8, 64))
                field = correlated_noise((h, w), rng, scales_px=(scale, 2 * scale))
                blob = ndi.gaussian_filter(
                    (field > rng.uniform(1.6, 2.4)).astype(np.float32), rng.uniform(1, 3)
                )
                out = out * (1 - rng.uniform(0.15, 0.45) * blob)
        elif kind == "film-edge":
            yy, xx = np.mgrid[0:h, 0:w]
            ang = rng.uniform(0, 2 * np.pi)
            edge = (xx - w / 2) * np.cos(ang) + (yy - h / 2) * np.sin(ang) > rng.uniform(0.25, 0.45) * w
            edge = ndi.gaussian_filter(edge.astype(np.float32), 2) * rng.uniform(0.1, 0.25)
            out = out * (1 + edge)  # vacuum beyond the film edge is brighter
        elif kind == "info-bar":
            bar = max(12, h // 14)
            out[h - bar :] = lo
            covered[h - bar :] = True
            text = text_mask("HV=200kV  Mag=50kx  WD=4mm", max(6, bar // 2))
            stamp(out, covered, text, h - bar + (bar - text.shape[0]) // 2, max(2, w // 50), hi)
        elif kind == "scale-bar":
            colour = hi if rng.random() < 0.5 else lo
            bar_w, bar_h = int(w * rng.uniform(0.1, 0.25)), max(3, h // 120)
            r0 = int(h * rng.uniform(0.85, 0.95))
            c0 = int(w * rng.uniform(0.6, 0.85))
            out[r0 : r0 + bar_h, c0 : c0 + bar_w] = colour
            covered[r0 : r0 + bar_h, c0 : c0 + bar_w] = True
            text = text_mask(f"{int(rng.choice([2, 5, 10, 20, 50, 100]))} nm", max(8, h // 35))
            stamp(out, covered, text, r0 - text.shape[0] - bar_h, c0 + bar_w // 4, colour)
        elif kind == "text":
            text = text_mask(str(rng.choice(["(a)", "(b)", "A", "B", "c)"])), max(10, h // 25))
            stamp(out, covered, text, int(h * 0.03), int(w * 0.03), lo if rng.random() < 0.7 else hi)
    image = out.astype(image.dtype) if np.issubdtype(image.dtype, np.integer) else out
    return image, covered


def stamp(out, covered, text: np.ndarray, top: int, left: int, value: float, thicken: bool = True) -> None:
    """Paint a text mask at (top, left), clipped to the image, and mark it covered; ``thicken``
    dilates it first, as burned-in labels are."""
    if thicken:
        text = ndi.binary_dilation(text)
    h, w = text.shape
    top, left = max(0, top), max(0, left)
    region = out[top : top + h, left : left + w]
    glyph = text[: region.shape[0], : region.shape[1]]
    region[glyph] = value
    covered[top : top + h, left : left + w] |= glyph
