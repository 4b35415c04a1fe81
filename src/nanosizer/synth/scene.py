"""Where particles go: sizes from a log-normal law and placement at a chosen overlap degree."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .shapes import Particle

# Minimum centre distance as a fraction of the sum of radii, per overlap degree.
OVERLAP_MIN_DISTANCE = {"none": 1.08, "touching": 0.98, "low": 0.85, "medium": 0.70, "high": 0.55}
STRUCTURES = ("solid", "core-shell", "hollow", "rim", "grains")
# Added later; kept apart so the scenes of earlier presets (and trained models) stay reproducible.
MORE_STRUCTURES = ("porous",)


@dataclass
class SceneParams:
    """Everything that defines a synthetic micrograph (lengths in nm unless ``_px``)."""

    size_px: tuple[int, int] = (1024, 1024)
    pixel_size_nm: float = 0.2
    mean_diameter_nm: float = 8.0
    diameter_spread: float = 0.15  # log-normal sigma
    shapes: tuple[str, ...] = ("sphere",)
    aspect_range: tuple[float, float] = (1.0, 1.0)
    structures: tuple[str, ...] = ("solid",)
    coverage: float = 0.15  # projected area fraction aimed at
    overlap: str = "none"
    agglomerate: float = 0.0  # probability that a particle is placed next to another
    # image formation
    contrast: float = 1.0  # attenuation -ln(I/I_bg) through the thickness of a mean particle
    saturate: bool = False
    carbon_texture: float = 0.04
    thick_carbon: float = 0.0  # probability of a thicker carbon region
    illumination: float = 0.1  # relative gradient across the field
    fringes: float = 0.0  # amplitude of lattice fringes inside crystals
    blur_px: float = 1.0
    dose: float = 200.0  # electrons per pixel at the background
    dtype: str = "uint16"
    distractors: tuple[str, ...] = ()  # scale-bar, text, info-bar, contamination, film-edge
    black_labels: bool = False  # labels and info bars pure black (figure panels), not at the 0.5 % level
    # Domain randomisation (:mod:`.artefacts`); all off by default, so earlier presets are unchanged.
    phase_grain: float = 0.0  # phase-contrast grain of the carbon: relative intensity amplitude
    support: float = 0.0  # crystalline oxide support under the particles: attenuation of its grains
    support_px: float = 40.0  # typical support grain size in px
    dark_field: bool = False  # HAADF-STEM polarity: particles bright on a dark background
    grain_px: float = 4.0  # typical grain size in px
    lattice_contrast: float = 0.0  # fringes as a particle's own contrast (relative intensity)
    fresnel: float = 0.0  # defocus fringe at particle edges (relative intensity)
    scan_noise: float = 0.0  # STEM line-to-line gain jitter (relative std)
    jpeg_quality: int = 0  # 0: none; else the image is JPEG-compressed at this quality
    annotations: tuple[str, ...] = ()  # figure-crop marks (:data:`.artefacts.ANNOTATIONS`)
    seed_note: str = ""
    extra: dict = field(default_factory=dict)


def place_particles(params: SceneParams, rng: np.random.Generator) -> list[Particle]:
    """Draw sizes and place particles until the coverage is reached (or space runs out)."""
    h, w = params.size_px
    px = params.pixel_size_nm
    area_px = h * w
    mu = np.log(params.mean_diameter_nm) - params.diameter_spread**2 / 2
    min_frac = OVERLAP_MIN_DISTANCE[params.overlap]
    particles: list[Particle] = []
    # Centres and inscribed radii of the placed particles, grown in place (avoids O(n^2) rebuilds).
    placed = np.empty((64, 3))
    covered = 0.0
    attempts = 0
    while covered < params.coverage * area_px and attempts < 20000:
        attempts += 1
        d = float(rng.lognormal(mu, params.diameter_spread))
        shape = str(rng.choice(params.shapes))
        aspect = float(rng.uniform(*params.aspect_range)) if shape in ("ellipsoid", "rod") else 1.0
        r = 0.5 * d / px
        if particles and rng.random() < params.agglomerate:
            anchor = particles[rng.integers(len(particles))]
            ang = rng.uniform(0, 2 * np.pi)
            dist = (anchor.radius_px(px) + r) * max(min_frac, 0.55) * rng.uniform(1.0, 1.1)
            row, col = anchor.row + dist * np.sin(ang), anchor.col + dist * np.cos(ang)
        else:
            row, col = rng.uniform(-r, h + r), rng.uniform(-r, w + r)
        cand = Particle(
            row,
            col,
            d,
            shape,
            float(rng.uniform(0, np.pi)),
            aspect,
            str(rng.choice(params.structures)),
            float(rng.uniform(0.85, 1.15)),
        )
        n = len(particles)
        # Use the inscribed size so elongated particles are not over-constrained.
        if n:
            dist = np.hypot(placed[:n, 0] - row, placed[:n, 1] - col)
            if np.any(dist < (placed[:n, 2] + r) * min_frac):
                continue
        if n == len(placed):
            placed = np.concatenate([placed, np.empty_like(placed)])
        placed[n] = row, col, r
        particles.append(cand)
        covered += np.pi * r * r * aspect
    return particles
