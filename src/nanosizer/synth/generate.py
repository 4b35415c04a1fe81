"""Compose a synthetic micrograph and its exact ground truth."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..measure import measure_regions
from ..regions import Region, paint_labels
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
    regions: list[Region] = []
    kept = []
    for particle in place_particles(params, rng):
        rendered = render_particle(particle, px, shape)
        if rendered is None:
            continue
        top, left, thick, mask = rendered
        if params.fringes > 0 and particle.structure != "hollow":
            period = max(2.5, rng.uniform(0.2, 0.4) / px)
            thick = thick * (1 + params.fringes * fringes(thick.shape, rng, period))
        thickness[top : top + thick.shape[0], left : left + thick.shape[1]] += thick
        regions.append(Region(mask, top, left))
        kept.append(particle)
    mu = params.contrast / params.mean_diameter_nm  # per nm of particle thickness
    attenuation = mu * thickness + background_thickness(params, rng)
    intensity = illumination(params, rng) * np.exp(-attenuation)
    image = detector(intensity.astype(np.float32), params, rng)
    covered = np.zeros(shape, bool)
    if params.distractors:
        image, covered = draw_distractors(image, params, rng)
    labels = paint_labels(regions, shape)
    labels[covered] = 0
    table = _truth_table(regions, kept, px, shape) if with_table else None
    return SynthImage(image, px, labels > 0, labels, regions, table, params)


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
