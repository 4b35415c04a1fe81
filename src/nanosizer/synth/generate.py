"""Compose a synthetic micrograph and its exact ground truth."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import ndimage as ndi

from ..measure import measure_regions
from ..regions import Region, paint_labels
from .artefacts import (
    crystalline_support,
    dark_field,
    draw_annotations,
    drift_blur,
    fresnel_halo,
    graphitic_fringes,
    jpeg_roundtrip,
    moire_pattern,
    phase_grain,
    scan_lines,
    support_heap,
    thickness_wedge,
)
from .render import background_thickness, detector, draw_distractors, fringes, illumination
from .scene import SceneParams, place_particles
from .shapes import render_particle


@dataclass
class SynthImage:
    """A generated micrograph with its truth.

    Attributes
    ----------
    image : (M, N) ndarray
        The micrograph (dtype from the parameters).
    pixel_size_nm : float
    mask : (M, N) bool ndarray
        Semantic truth: visible particle pixels (distractors are background).
    labels : (M, N) uint16 ndarray
        Instance truth; overlaps go to the smaller particle, as in nanosizer's own output.
    full_masks : list of Region
        Each particle's full, unoccluded mask.
    table : pandas.DataFrame or None
        Per particle: measures of the full mask (nanosizer columns), ``shape``,
        ``nominal_diameter_nm``, ``touches_border`` and ``overlaps``.
    params : SceneParams
    """

    image: np.ndarray
    pixel_size_nm: float
    mask: np.ndarray
    labels: np.ndarray
    full_masks: list[Region]
    table: pd.DataFrame
    params: SceneParams


def generate(
    params: SceneParams, rng: int | np.random.Generator | None = 0, *, with_table: bool = True
) -> SynthImage:
    """Render one micrograph; the same parameters and seed give the same image and truth.

    ``with_table=False`` skips measuring the truth particles (``table`` is None): training only
    needs the masks, and the measurement is the slowest part of a small scene.
    """
    rng = np.random.default_rng(rng)
    shape = tuple(params.size_px)
    px = params.pixel_size_nm
    thickness = np.zeros(shape, np.float32)
    lattice = np.zeros(shape, np.float32) if params.lattice_contrast > 0 else None
    moire = np.zeros(shape, np.float32) if params.moire > 0 else None
    regions: list[Region] = []
    kept = []
    heap = on_support = None
    if params.support_heap > 0:
        heap, on_support = support_heap(shape, rng, params.support_heap, params.heap_px)
    for particle in place_particles(params, rng):
        if on_support is not None and not _kept_on_support(particle, on_support, params.in_vacuum, rng):
            continue
        rendered = render_particle(particle, px, shape)
        if rendered is None:
            continue
        top, left, thick, mask = rendered
        if params.diffraction > 0 and rng.random() < params.diffraction:
            thick = thick * np.exp(rng.uniform(np.log(1.5), np.log(4.0)))  # diffraction contrast
        if params.fringes > 0 and particle.structure != "hollow":
            period = max(2.5, rng.uniform(0.2, 0.4) / px)
            thick = thick * (1 + params.fringes * fringes(thick.shape, rng, period))
        thickness[top : top + thick.shape[0], left : left + thick.shape[1]] += thick
        if lattice is not None:  # a crystal seen by its lattice planes, one orientation each
            period = max(3.0, rng.uniform(0.2, 0.4) / px)
            window = lattice[top : top + mask.shape[0], left : left + mask.shape[1]]
            window[mask] = fringes(mask.shape, rng, period)[mask]
        if moire is not None:  # beat of two lattices, a few stripes across the particle
            period = max(3.0, rng.uniform(0.2, 0.4) / px)
            beat = max(4.0, rng.uniform(0.25, 0.6) * particle.diameter_nm / px)
            window = moire[top : top + mask.shape[0], left : left + mask.shape[1]]
            window[mask] = moire_pattern(mask.shape, rng, period, beat)[mask]
        regions.append(Region(mask, top, left))
        kept.append(particle)
    mu = params.contrast / params.mean_diameter_nm  # per nm of particle thickness
    attenuation = mu * thickness + background_thickness(params, rng)
    if heap is not None:
        attenuation = attenuation + heap
    if params.support > 0:
        attenuation = attenuation + crystalline_support(shape, rng, params.support, params.support_px)
    if params.wedge > 0:
        attenuation = attenuation + thickness_wedge(shape, rng, params.wedge)
    intensity = illumination(params, rng) * np.exp(-attenuation)
    intensity = _phase_effects(intensity, thickness > 0, lattice, moire, params, rng)
    if params.graphitic > 0:  # the support's own fringes (all over the film without a heap)
        texture = params.graphitic * graphitic_fringes(
            shape, rng, params.graphitic_px, 8.0 * params.graphitic_px
        )
        if on_support is not None:
            texture *= ndi.gaussian_filter(on_support.astype(np.float32), 2.0)
        intensity = np.clip(intensity * (1 + texture), 0.0, None)
    # amorphous support at HRTEM defocus: interference speckle, growing with its thickness
    if params.speckle > 0:
        weight = 1.0 if heap is None else np.sqrt(np.clip(heap / params.support_heap, 0.0, 1.0))
        grain = phase_grain(shape, rng, params.speckle, params.speckle_px)
        intensity = np.clip(intensity + float(np.median(intensity)) * weight * grain, 0.0, None)
    if params.drift_px > 0:
        intensity = drift_blur(intensity, rng, params.drift_px)
    if params.dark_field:
        intensity = dark_field(intensity, rng, params.haadf_linear)
    image = detector(intensity.astype(np.float32), params, rng)
    if params.scan_noise > 0:  # after the probe's blur: each scan line read on its own
        image = _as_dtype(scan_lines(image.astype(np.float32), rng, params.scan_noise), image.dtype)
    covered = np.zeros(shape, bool)
    if params.distractors:
        image, covered = draw_distractors(image, params, rng)
    if params.annotations:
        marked, marks = draw_annotations(image, params.annotations, rng)
        image = marked.astype(image.dtype) if np.issubdtype(image.dtype, np.integer) else marked
        covered |= marks
    if params.jpeg_quality:
        image = jpeg_roundtrip(image, params.jpeg_quality)
    labels = paint_labels(regions, shape)
    labels[covered] = 0
    table = _truth_table(regions, kept, px, shape) if with_table else None
    return SynthImage(image, px, labels > 0, labels, regions, table, params)


def _kept_on_support(particle, on_support: np.ndarray, in_vacuum: float, rng) -> bool:
    """Whether a placed particle stays: always on the support (its centre over it, edges
    included), off it only with probability ``in_vacuum`` (a few particles lie in vacuum)."""
    h, w = on_support.shape
    row, col = int(np.clip(round(particle.row), 0, h - 1)), int(np.clip(round(particle.col), 0, w - 1))
    return bool(on_support[row, col]) or rng.random() < in_vacuum


def _phase_effects(intensity, inside, lattice, moire, params: SceneParams, rng) -> np.ndarray:
    """Phase contrast on the noiseless intensity: lattice fringes, moiré, Fresnel fringes at
    edges, carbon grain (each only when its parameter is on)."""
    mean = float(np.median(intensity))
    if lattice is not None:
        intensity = intensity * (1 + params.lattice_contrast * ndi.gaussian_filter(lattice, 0.7))
    if moire is not None:  # the fine lattice is lost in the blur: mostly the beat remains
        intensity = intensity * (1 + 2 * params.moire * ndi.gaussian_filter(moire, 1.0))
    if params.fresnel > 0:
        intensity = intensity + mean * fresnel_halo(inside, rng, params.fresnel)
    if params.phase_grain > 0:
        intensity = intensity + mean * phase_grain(intensity.shape, rng, params.phase_grain, params.grain_px)
    return np.clip(intensity, 0.0, None)


def _as_dtype(values: np.ndarray, dtype) -> np.ndarray:
    if np.issubdtype(dtype, np.integer):
        return np.clip(np.round(values), 0, np.iinfo(dtype).max).astype(dtype)
    return values.astype(dtype)


def _truth_table(regions, particles, px, shape) -> pd.DataFrame:
    table = measure_regions(regions, px)
    count = np.zeros(shape, np.uint8)
    for region in regions:
        count[region.slices] += region.mask
    table["shape"] = [p.shape for p in particles]
    table["structure"] = [p.structure for p in particles]
    table["nominal_diameter_nm"] = [p.diameter_nm for p in particles]
    table["touches_border"] = [r.touches_border(shape) for r in regions]
    table["overlaps"] = [bool((count[r.slices][r.mask] > 1).any()) for r in regions]
    return table
