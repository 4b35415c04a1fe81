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
    align: float = 0.0  # probability that such a particle lines up beside its neighbour (rod rafts)
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
    haadf_linear: bool = False  # dark field grows with projected thickness, unsaturated (thick supports)
    grain_px: float = 4.0  # typical grain size in px
    lattice_contrast: float = 0.0  # fringes as a particle's own contrast (relative intensity)
    fresnel: float = 0.0  # defocus fringe at particle edges (relative intensity)
    scan_noise: float = 0.0  # STEM line-to-line gain jitter (relative std)
    jpeg_quality: int = 0  # 0: none; else the image is JPEG-compressed at this quality
    annotations: tuple[str, ...] = ()  # figure-crop marks (:data:`.artefacts.ANNOTATIONS`, "inset")
    wedge: float = 0.0  # thickness gradient of the support: attenuation added across the field
    drift_px: float = 0.0  # specimen drift during the exposure: smear length in px
    moire: float = 0.0  # moiré of overlapping lattices as a particle's contrast (relative intensity)
    support_heap: float = 0.0  # a heap of support grains with vacuum around: attenuation at its thickest
    heap_px: float = 80.0  # typical lump of that heap in px
    in_vacuum: float = 0.1  # with a heap: probability that a particle off the support is kept
    graphitic: float = 0.0  # turbostratic carbon fringes (relative intensity; on the heap when there is one)
    graphitic_px: float = 3.0  # their spacing in px (0.34 nm / pixel size)
    raft_across: int = 0  # close-packed rafts of about this many particles across (0: no rafts)
    raft_order: float = 1.0  # 1: hexagonal lattice; towards 0 the positions jitter (random packing)
    raft_vacancy: float = 0.0  # share of lattice sites left empty
    raft_second_layer: float = 0.0  # share of a raft's hollows holding a particle of a second layer
    diffraction: float = 0.0  # share of particles in a Bragg orientation: 1.5-4x darker (bright field)
    speckle: float = 0.0  # HRTEM speckle of amorphous support (relative intensity; grows with its thickness)
    speckle_px: float = 8.0  # its blobs in px (catalyst-hrtem: 0.2-0.45 nm, the defocus of lattice images)
    seed_note: str = ""
    extra: dict = field(default_factory=dict)


def place_particles(params: SceneParams, rng: np.random.Generator) -> list[Particle]:
    """Draw sizes and place particles until the coverage is reached (or space runs out); with
    ``raft_across`` the particles form close-packed rafts instead (:func:`place_rafts`)."""
    if params.raft_across > 0:
        return place_rafts(params, rng)
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
            lined_up = params.align > 0 and rng.random() < params.align
            if lined_up:  # beside the anchor's long side, parallel to it, as rods pack in rafts
                row, col = _beside(anchor, r, min_frac, px, rng)
        else:
            row, col = rng.uniform(-r, h + r), rng.uniform(-r, w + r)
            lined_up = False
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
        if lined_up:
            cand.angle = anchor.angle + float(rng.normal(0.0, 0.05))
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


def _beside(anchor, r: float, min_frac: float, px: float, rng: np.random.Generator) -> tuple[float, float]:
    """A centre next to ``anchor``'s long side: one width (both half-widths, at the overlap
    degree's distance) across its axis, shifted along it by up to a quarter of its length."""
    across = (0.5 * anchor.diameter_nm / px + r) * max(min_frac, 0.55) * rng.uniform(1.0, 1.1)
    along = rng.uniform(-0.25, 0.25) * anchor.diameter_nm * anchor.aspect / px
    side = 1.0 if rng.random() < 0.5 else -1.0
    # The particle's own frame: u along the axis at ``angle`` (image rows down, columns right).
    cu, su = np.cos(anchor.angle), np.sin(anchor.angle)
    d_row = along * su + side * across * cu
    d_col = along * cu - side * across * su
    return anchor.row + d_row, anchor.col + d_col


def place_rafts(params: SceneParams, rng: np.random.Generator) -> list[Particle]:
    """Close-packed monolayers: one to three rafts (apart) of about ``raft_across`` particles
    across on a hexagonal lattice of spacing one mean diameter (positions jittered by up to a
    tenth of it as ``raft_order`` falls: towards random packing), with irregular outlines,
    ``raft_vacancy`` of the sites empty and ``raft_second_layer`` of the hollows between three
    particles filled by a particle of a second layer (overlapping its neighbours)."""
    h, w = params.size_px
    px = params.pixel_size_nm
    mu = np.log(params.mean_diameter_nm) - params.diameter_spread**2 / 2
    spacing = params.mean_diameter_nm / px * 1.02  # touching, a hair apart
    jitter = (1.0 - params.raft_order) * spacing / 10
    radius = 0.5 * params.raft_across * spacing
    particles: list[Particle] = []
    centres: list[np.ndarray] = []
    for _ in range(int(rng.integers(1, 4))):
        centre = rng.uniform([0.2 * h, 0.2 * w], [0.8 * h, 0.8 * w])
        if any(np.hypot(*(centre - c)) < 2 * radius + spacing for c in centres):
            continue  # rafts lie apart; a second layer comes from the hollows only
        centres.append(centre)
        angle = rng.uniform(0, np.pi / 3)
        bumps = rng.uniform(0.75, 1.0, 6)  # an irregular outline: radius varies with direction
        n = int(np.ceil(radius / spacing)) + 1
        ii, jj = np.meshgrid(np.arange(-n, n + 1), np.arange(-n, n + 1), indexing="ij")
        lattice = np.stack([ii + 0.5 * jj, jj * np.sqrt(3) / 2], axis=-1).reshape(-1, 2) * spacing
        hollows = lattice + np.array([0.5, np.sqrt(3) / 6]) * spacing
        rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        for points, second in ((lattice, False), (hollows, True)):
            xy = points @ rot.T
            theta = np.arctan2(xy[:, 0], xy[:, 1])
            reach = radius * np.interp(theta, np.linspace(-np.pi, np.pi, 7), np.append(bumps, bumps[0]))
            inside = np.hypot(*xy.T) <= reach
            keep = rng.random(len(xy)) < (params.raft_second_layer if second else 1 - params.raft_vacancy)
            for row, col in xy[inside & keep] + centre:
                row, col = row + rng.normal(0, jitter + 1e-9), col + rng.normal(0, jitter + 1e-9)
                d = float(rng.lognormal(mu, params.diameter_spread))
                particles.append(
                    Particle(row, col, d, str(rng.choice(params.shapes)), float(rng.uniform(0, np.pi)))
                )
    return [p for p in particles if -p.radius_px(px) < p.row < h + p.radius_px(px)]
