"""What real micrographs add that the first generator never drew (domain randomisation):
phase-contrast grain of the carbon film, crystalline oxide supports, thickness gradients of the
support, lattice fringes and moiré as the contrast of a particle, Fresnel fringes at defocus,
specimen drift, scan-line noise, dark-field (HAADF) polarity, JPEG compression, and the marks of
a figure crop (panel letters, scale bars with their label in any corner, arrows, panel borders,
text over the image, insets).

Each effect is off by default (its :class:`~.scene.SceneParams` field is zero or empty) and
draws random numbers only when on, so scenes of earlier presets stay bit-for-bit the same.
"""

from __future__ import annotations

import io

import numpy as np
from scipy import ndimage as ndi
from skimage.draw import polygon

from .render import fringes, stamp

ANNOTATIONS = ("panel-letter", "scale-label", "arrow", "border", "caption")
INSETS = ("diffraction", "fft", "histogram")  # what an inset box shows (never a particle)
LETTERS = ("(a)", "(b)", "(c)", "(d)", "(e)", "(f)", "a", "b", "c", "A", "B", "C", "a)", "b)", "(A)", "(B)")
SCALE_LABELS = ("2 nm", "5 nm", "10 nm", "20 nm", "50 nm", "100 nm", "200 nm", "500 nm", "1 µm", "2 µm")
CAPTIONS = ("Au", "Pt/C", "TiO2", "Fe3O4", "d = 5.2 nm", "NPs", "200 °C", "x50k", "Ag@SiO2", "ZnO")


def band_noise(shape, rng: np.random.Generator, size_px: float) -> np.ndarray:
    """Zero-mean, unit-std noise whose blobs are ``size_px`` across (a difference of Gaussians):
    the speckle that defocus makes of amorphous carbon, at one chosen scale."""
    white = rng.standard_normal(shape).astype(np.float32)
    sigma = max(size_px / 4.0, 0.5)
    band = ndi.gaussian_filter(white, sigma) - ndi.gaussian_filter(white, 2.0 * sigma)
    return band / (band.std() + 1e-6)


def phase_grain(shape, rng: np.random.Generator, amplitude: float, size_px: float) -> np.ndarray:
    """Additive phase-contrast grain: bright and dark blobs at two neighbouring scales, which can
    be as large and as dark as the particles (relative intensity, mean 0)."""
    grain = band_noise(shape, rng, size_px) + 0.5 * band_noise(shape, rng, size_px * rng.uniform(1.6, 3.0))
    return (amplitude / 1.12) * grain  # 1.12: the std of the sum above


def support_heap(
    shape, rng: np.random.Generator, amount: float, lump_px: float
) -> tuple[np.ndarray, np.ndarray]:
    """A heap of support grains (oxide or carbon) with vacuum around, as supported catalysts are
    imaged: relative attenuation (projected thickness × ``amount``: thick in the heap's middle,
    lumps ``lump_px`` across, thin edges, holes) and where the support is (bool).

    The heap's outline follows noise at four times the lump size, so one field holds one or a
    few heaps that cover 40-90 % of it, with bays and holes of vacuum.
    """
    outline = band_noise(shape, rng, 4.0 * lump_px)
    lumps = band_noise(shape, rng, lump_px)
    field = outline + 0.5 * lumps + 0.15 * band_noise(shape, rng, max(lump_px / 4.0, 2.0))
    level = float(np.quantile(field, 1.0 - rng.uniform(0.4, 0.9)))
    inside = field > level
    thickness = np.clip(field - level, 0.0, None)
    thickness /= max(float(np.percentile(thickness[inside], 95)), 1e-6) if inside.any() else 1.0
    thickness = np.clip(thickness * (1.0 + 0.3 * lumps), 0.0, 1.5)
    return amount * ndi.gaussian_filter(thickness, 1.0).astype(np.float32), inside


def graphitic_fringes(shape, rng: np.random.Generator, period_px: float, patch_px: float) -> np.ndarray:
    """Turbostratic carbon seen at high magnification: short, curved lattice fringes of spacing
    ``period_px`` in patches about ``patch_px`` across (relative intensity, mean about 0)."""
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    theta = np.pi * band_noise(shape, rng, 4.0 * patch_px)  # the fringes turn from patch to patch
    bend = 0.5 * period_px * band_noise(shape, rng, 2.0 * patch_px)  # and bend within one
    wave = np.cos(2 * np.pi * (xx * np.cos(theta) + yy * np.sin(theta) + bend) / period_px)
    envelope = np.clip(band_noise(shape, rng, patch_px), 0.0, None)
    return (wave * envelope).astype(np.float32)


def crystalline_support(shape, rng: np.random.Generator, amount: float, grain_px: float) -> np.ndarray:
    """Relative attenuation of a polycrystalline oxide support: Voronoi grains about
    ``grain_px`` across, each with its own thickness and lattice fringes, soft boundaries."""
    h, w = shape
    n = max(4, int(h * w / grain_px**2))
    seeds = np.zeros(shape, np.int32)
    rows, cols = rng.integers(0, h, n), rng.integers(0, w, n)
    seeds[rows, cols] = np.arange(1, n + 1)
    _, (ii, jj) = ndi.distance_transform_edt(seeds == 0, return_indices=True)
    grains = seeds[ii, jj] - 1
    thickness = rng.uniform(0.1, 1.0, n).astype(np.float32)[grains]
    lattice = np.zeros(shape, np.float32)
    for period in rng.uniform(3.0, 8.0, 3):  # three lattice spacings, a grain shows one of them
        pick = rng.integers(0, 3, n) == 0
        lattice += np.where(pick[grains], fringes(shape, rng, period), 0.0)
    support = ndi.gaussian_filter(thickness, max(1.0, grain_px / 12)) * (1 + 0.2 * lattice)
    return amount * support


def thickness_wedge(shape, rng: np.random.Generator, amount: float) -> np.ndarray:
    """Relative attenuation of a support whose thickness changes across the field: a linear
    wedge in a random direction, or the thickening towards the edge of a hole in the film (a
    circle outside the field); rises from 0 to ``amount``."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if rng.random() < 0.5:
        angle = rng.uniform(0, 2 * np.pi)
        ramp = (xx - w / 2) * np.cos(angle) + (yy - h / 2) * np.sin(angle)
    else:  # distance from a hole whose edge lies just outside the field
        angle, reach = rng.uniform(0, 2 * np.pi), rng.uniform(0.6, 1.2) * max(h, w)
        cy, cx = h / 2 + reach * np.sin(angle), w / 2 + reach * np.cos(angle)
        ramp = -(np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2) ** rng.uniform(0.5, 1.5))
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    return (amount * ramp).astype(np.float32)


def drift_blur(intensity: np.ndarray, rng: np.random.Generator, length_px: float) -> np.ndarray:
    """Specimen drift during the exposure: the image smeared along one direction over
    ``length_px``, centred (the particles' mean position, the truth, stays in place)."""
    angle = rng.uniform(0, np.pi)
    half = int(np.ceil(length_px / 2))
    kernel = np.zeros((2 * half + 1, 2 * half + 1), np.float32)
    for t in np.linspace(-length_px / 2, length_px / 2, max(2, int(4 * length_px))):
        kernel[int(round(half + t * np.sin(angle))), int(round(half + t * np.cos(angle)))] += 1
    return ndi.convolve(intensity, kernel / kernel.sum(), mode="reflect")


def moire_pattern(shape, rng: np.random.Generator, period_px: float, beat_px: float) -> np.ndarray:
    """Moiré of two overlapping lattices (a particle on a crystalline layer, or two stacked
    crystals): the product of fringes of ``period_px`` and of a slightly different wave vector,
    whose beat runs with period ``beat_px``; the fine part is lost in the microscope's blur,
    the beat stays. Values in [-1, 1]."""
    angle = rng.uniform(0, np.pi)
    k1 = 2 * np.pi / period_px * np.array([np.cos(angle), np.sin(angle)])
    beat_angle = rng.uniform(0, np.pi)
    k2 = k1 + 2 * np.pi / beat_px * np.array([np.cos(beat_angle), np.sin(beat_angle)])
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    phase1, phase2 = rng.uniform(0, 2 * np.pi, 2)
    return np.cos(k1[0] * xx + k1[1] * yy + phase1) * np.cos(k2[0] * xx + k2[1] * yy + phase2)


def dark_field(intensity: np.ndarray, rng: np.random.Generator, linear: bool = False) -> np.ndarray:
    """HAADF-STEM polarity: what the bright-field image lost to scattering shows bright on a dark
    background (with a small detector offset).

    ``linear``: the signal is the projected attenuation itself (-log of the transmitted share),
    as incoherent Z-contrast adds up through the specimen. Without it a thick support saturates
    and a metal particle on it adds almost nothing, which no HAADF image of a catalyst shows.
    """
    transmitted = intensity / max(float(np.percentile(intensity, 99.5)), 1e-6)
    if linear:
        scattered = -np.log(np.clip(transmitted, 1e-3, 1.0))
    else:
        scattered = 1.0 - transmitted
    return np.clip(scattered, 0.0, None) + rng.uniform(0.02, 0.08)


def fresnel_halo(mask: np.ndarray, rng: np.random.Generator, amplitude: float) -> np.ndarray:
    """Defocus fringe at particle edges: bright just outside and dark just inside (under-focus),
    or the reverse (over-focus); relative intensity."""
    width = rng.uniform(1.0, 3.0)
    soft = mask.astype(np.float32)
    sign = 1.0 if rng.random() < 0.75 else -1.0  # under-focus, the usual setting, most often
    return sign * amplitude * 2.0 * (ndi.gaussian_filter(soft, width) - soft)


def scan_lines(intensity: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    """STEM scan noise: each line with its own gain and offset (flyback and probe-current
    jitter); ``amount`` is the relative std of the line gain."""
    h = intensity.shape[0]
    gain = 1.0 + amount * rng.standard_normal((h, 1)).astype(np.float32)
    offset = 0.5 * amount * ndi.gaussian_filter1d(rng.standard_normal(h), 2.0)[:, None].astype(np.float32)
    return intensity * gain + offset * float(np.median(intensity))


def jpeg_roundtrip(image: np.ndarray, quality: int) -> np.ndarray:
    """The image as it comes back from a JPEG at ``quality`` (8-bit; figure crops, web images)."""
    from PIL import Image

    data = np.asarray(image, dtype=np.float32)
    lo, hi = float(data.min()), float(data.max())
    grey = np.round(255 * (data - lo) / max(hi - lo, 1e-6)).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(grey).save(buffer, format="JPEG", quality=int(quality))
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())), dtype=np.uint8)


def draw_annotations(image: np.ndarray, kinds, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Marks of a figure crop, in the corners, edges or over the image: panel letters, scale
    bars with their label above or below, arrows, panel borders and captions, black or white,
    sans or serif, sometimes on a box. Returns the image (float32) and the mask of pixels they
    cover (background in the truth: no particle shows there)."""
    out = np.asarray(image, dtype=np.float32).copy()
    h, w = out.shape
    covered = np.zeros((h, w), bool)
    lo, hi = float(np.percentile(out, 0.5)), float(np.percentile(out, 99.8))
    for kind in kinds:
        dark = rng.random() < 0.6
        ink, paper = (lo, hi) if dark else (hi, lo)
        ink = min(ink, float(out.min())) if dark and rng.random() < 0.5 else ink  # pure black labels
        if kind == "panel-letter":
            _text(out, covered, str(rng.choice(LETTERS)), rng.uniform(0.05, 0.13) * h, ink, paper, rng)
        elif kind == "scale-label":
            _scale_label(out, covered, ink, paper, rng)
        elif kind == "arrow":
            for _ in range(int(rng.integers(1, 4))):
                _arrow(out, covered, ink, rng)
        elif kind == "border":
            _border(out, covered, ink if rng.random() < 0.3 else paper, rng)
        elif kind == "caption":
            caption = str(rng.choice(CAPTIONS))
            _text(out, covered, caption, rng.uniform(0.04, 0.08) * h, ink, paper, rng, anywhere=True)
        elif kind == "inset":
            _inset(out, covered, lo, hi, rng)
        else:
            known = ", ".join((*ANNOTATIONS, "inset"))
            raise ValueError(f"unknown annotation {kind!r}; known: {known}")
    return out, covered


def _font(rng):
    return str(rng.choice(["serif", "sans-serif"])), str(rng.choice(["normal", "bold"], p=[0.6, 0.4]))


def _corner(rng, h, w, bh, bw, margin) -> tuple[int, int]:
    top = margin if rng.random() < 0.5 else h - bh - margin
    left = margin if rng.random() < 0.5 else w - bw - margin
    return max(0, top), max(0, left)


def _text(out, covered, text, height, ink, paper, rng, anywhere=False) -> None:
    from ..text import text_mask

    family, weight = _font(rng)
    glyphs = text_mask(text, max(8, int(height)), family, weight)
    if rng.random() < 0.3:
        glyphs = ndi.binary_dilation(glyphs)
    gh, gw = glyphs.shape
    h, w = out.shape
    if gh >= h or gw >= w:
        return
    margin = int(rng.uniform(0.01, 0.05) * h)
    if anywhere:
        top, left = int(rng.integers(0, h - gh)), int(rng.integers(0, w - gw))
    else:
        top, left = _corner(rng, h, w, gh, gw, margin)
    if rng.random() < 0.25:  # on a box of the paper colour
        _fill(out, covered, top, left, gh, gw, paper, pad=max(2, gh // 5))
    stamp(out, covered, glyphs, top, left, ink, thicken=False)


def _scale_label(out, covered, ink, paper, rng) -> None:
    from ..text import text_mask

    h, w = out.shape
    family, weight = _font(rng)
    height = max(8, int(rng.uniform(0.04, 0.09) * h))
    glyphs = text_mask(str(rng.choice(SCALE_LABELS)), height, family, weight)
    gh, gw = glyphs.shape
    bar_w, bar_h = int(w * rng.uniform(0.12, 0.35)), max(2, int(h * rng.uniform(0.006, 0.02)))
    block_h, block_w = gh + bar_h + max(2, gh // 3), max(bar_w, gw)
    if block_h >= h or block_w >= w:
        return
    top, left = _corner(rng, h, w, block_h, block_w, int(rng.uniform(0.01, 0.05) * h))
    if rng.random() < 0.3:
        _fill(out, covered, top, left, block_h, block_w, paper, pad=max(2, gh // 4))
    text_first = rng.random() < 0.6
    text_top = top if text_first else top + bar_h + max(2, gh // 3)
    bar_top = top + gh + max(2, gh // 3) if text_first else top
    text_left = left + (block_w - gw) // 2
    bar_left = left + (block_w - bar_w) // 2
    _fill(out, covered, bar_top, bar_left, bar_h, bar_w, ink)
    stamp(out, covered, glyphs, text_top, text_left, ink, thicken=False)


def _fill(out, covered, top, left, height, width, value, pad: int = 0) -> None:
    """A rectangle (grown by ``pad`` on every side, clipped at the image's top and left) of one
    grey value, marked covered."""
    box = (slice(max(0, top - pad), top + height + pad), slice(max(0, left - pad), left + width + pad))
    out[box] = value
    covered[box] = True


def _arrow(out, covered, ink, rng) -> None:
    h, w = out.shape
    length = rng.uniform(0.06, 0.18) * h
    width = max(2.0, rng.uniform(0.006, 0.015) * h)
    tip = np.array([rng.uniform(0.1, 0.9) * h, rng.uniform(0.1, 0.9) * w])
    angle = rng.uniform(0, 2 * np.pi)
    direction = np.array([np.sin(angle), np.cos(angle)])
    normal = np.array([-direction[1], direction[0]])
    head = 3.0 * width
    base = tip - direction * head
    tail = tip - direction * length
    side = normal * width / 2
    shaft = [tail + side, base + side, base - side, tail - side]
    for corners in (shaft, [tip, base + normal * head * 0.6, base - normal * head * 0.6]):
        corners = np.asarray(corners)
        rr, cc = polygon(corners[:, 0], corners[:, 1], shape=out.shape)
        out[rr, cc] = ink
        covered[rr, cc] = True


def _border(out, covered, colour, rng) -> None:
    h, w = out.shape
    width = int(rng.integers(2, max(3, h // 40)))
    sides = rng.choice(["top", "bottom", "left", "right"], size=int(rng.integers(1, 5)), replace=False)
    for side in sides:
        window = {
            "top": (slice(0, width), slice(None)),
            "bottom": (slice(h - width, h), slice(None)),
            "left": (slice(None), slice(0, width)),
            "right": (slice(None), slice(w - width, w)),
        }[str(side)]
        out[window] = colour
        covered[window] = True


def _inset(out, covered, lo, hi, rng) -> None:
    """An inset box in a corner, with a frame: a diffraction pattern (bright rings and spots on
    black), an FFT (bright spots on black) or a size histogram (dark bars on white)."""
    h, w = out.shape
    side = int(rng.uniform(0.18, 0.35) * min(h, w))
    top, left = _corner(rng, h, w, side, side, int(rng.uniform(0.0, 0.04) * h))
    what = str(rng.choice(INSETS))
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32) - side / 2
    radius = np.hypot(yy, xx)
    if what == "histogram":
        box = np.full((side, side), hi, np.float32)
        bars = int(rng.integers(5, 14))
        heights = np.exp(-0.5 * ((np.arange(bars) - bars / 2) / (bars / rng.uniform(3, 6))) ** 2)
        width = max(1, int(0.8 * side / bars))
        for k, height in enumerate(heights):
            c0 = int(0.1 * side + k * 0.8 * side / bars)
            r0 = int(0.85 * side - height * 0.7 * side)
            box[r0 : int(0.85 * side), c0 : c0 + width - 1] = lo
        box[int(0.85 * side) : int(0.85 * side) + 2, int(0.08 * side) : int(0.95 * side)] = lo  # axis
    else:
        box = np.zeros((side, side), np.float32)
        if what == "diffraction":
            for r in np.sort(rng.uniform(0.08, 0.45, int(rng.integers(2, 6)))) * side:
                box += rng.uniform(0.3, 1.0) * np.exp(-0.5 * ((radius - r) / rng.uniform(0.6, 2.0)) ** 2)
        spots = int(rng.integers(4, 12)) // 2
        angles, dists = rng.uniform(0, np.pi, spots), rng.uniform(0.05, 0.4, spots) * side
        for angle, dist in zip(angles, dists, strict=True):
            for sign in (1, -1):  # Friedel pairs: spots come in opposite pairs
                cy, cx = sign * dist * np.sin(angle), sign * dist * np.cos(angle)
                box += np.exp(-0.5 * ((yy - cy) ** 2 + (xx - cx) ** 2) / rng.uniform(0.8, 2.5) ** 2)
        box += 2.0 * np.exp(-0.5 * (radius / 2.0) ** 2)  # the direct beam
        box = lo + (hi - lo) * np.clip(box / max(float(box.max()), 1e-6), 0, 1) ** 0.7
    frame = max(1, int(rng.integers(1, 4)))
    box[:frame], box[-frame:], box[:, :frame], box[:, -frame:] = (hi if rng.random() < 0.6 else lo,) * 4
    window = out[top : top + side, left : left + side]
    window[...] = box[: window.shape[0], : window.shape[1]]
    covered[top : top + side, left : left + side] = True
