"""Projected thickness of particle shapes, rendered on a particle's own pixel crop.

Every shape returns the thickness in nm along the beam at each (supersampled) pixel, so
mass-thickness contrast, overlaps and internal structure follow from the same map.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SHAPES = (
    "sphere",
    "ellipsoid",
    "cube",
    "octahedron-hex",
    "octahedron-rhombic",
    "triangle-plate",
    "hexagon-plate",
    "rod",
)
# Drawn only by presets that name them (SHAPES stays the set the older presets draw from).
IRREGULAR_SHAPES = ("nanostar",)
SUPERSAMPLE = 3


@dataclass
class Particle:
    """One particle: centre (row, col) in px, size in nm, shape and orientation.

    ``diameter_nm`` is the nominal size (sphere diameter, cube edge, plate or octahedron
    circumdiameter, rod width, nanostar tip to tip at most); ``aspect`` ≥ 1 stretches ellipsoids
    and rods.
    """

    row: float
    col: float
    diameter_nm: float
    shape: str = "sphere"
    angle: float = 0.0
    aspect: float = 1.0
    structure: str = "solid"  # solid, core-shell, hollow, rim, grains, porous, domains
    density: float = 1.0  # relative attenuation (grains of different darkness)

    def radius_px(self, pixel_size_nm: float) -> float:
        """Radius of the circumscribed circle in px (bounds the crop)."""
        extent = self.diameter_nm * max(self.aspect, 1.0)
        if self.shape in ("cube",):
            extent *= np.sqrt(2)
        return 0.5 * extent / pixel_size_nm


def render_particle(p: Particle, pixel_size_nm: float, shape: tuple[int, int]):
    """Thickness (nm, float32) and full mask on the particle's crop of an image of ``shape``.

    Returns (top, left, thickness, mask) or None when the particle lies fully outside.
    The mask is the set of pixels at least half covered by the particle.
    """
    r = p.radius_px(pixel_size_nm) + 1.0
    top, left = int(np.floor(p.row - r)), int(np.floor(p.col - r))
    bottom, right = int(np.ceil(p.row + r)) + 1, int(np.ceil(p.col + r)) + 1
    t0, l0 = max(top, 0), max(left, 0)
    b0, r0 = min(bottom, shape[0]), min(right, shape[1])
    if t0 >= b0 or l0 >= r0:
        return None
    s = SUPERSAMPLE
    ys = (np.arange((b0 - t0) * s) + 0.5) / s + t0 - p.row
    xs = (np.arange((r0 - l0) * s) + 0.5) / s + l0 - p.col
    y, x = np.meshgrid(ys * pixel_size_nm, xs * pixel_size_nm, indexing="ij")
    c, sn = np.cos(p.angle), np.sin(p.angle)
    u, v = c * x + sn * y, -sn * x + c * y  # particle frame, nm
    thick = _thickness(p, u, v)
    thick = _internal_structure(p, u, v, thick)
    h, w = b0 - t0, r0 - l0
    cover = (thick > 0).reshape(h, s, w, s).mean(axis=(1, 3))
    thickness = thick.reshape(h, s, w, s).mean(axis=(1, 3)).astype(np.float32) * p.density
    mask = cover >= 0.5
    if not mask.any():
        return None
    return t0, l0, thickness, mask


def _thickness(p: Particle, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    d = p.diameter_nm
    if p.shape == "sphere":
        return 2.0 * np.sqrt(np.clip((d / 2) ** 2 - u * u - v * v, 0, None))
    if p.shape == "ellipsoid":
        a, b = d / 2 * p.aspect, d / 2
        q = 1.0 - (u / a) ** 2 - (v / b) ** 2
        return 2.0 * b * np.sqrt(np.clip(q, 0, None))
    if p.shape == "rod":
        half = max(0.0, (p.aspect - 1.0) * d / 2)
        du = np.clip(np.abs(u) - half, 0, None)
        return 2.0 * np.sqrt(np.clip((d / 2) ** 2 - du * du - v * v, 0, None))
    if p.shape == "cube":
        depth = _polygon_depth(u, v, 4, d / 2)
        return np.where(depth > 0, d, 0.0)
    if p.shape in ("octahedron-hex", "octahedron-rhombic"):
        sides = 6 if p.shape.endswith("hex") else 4
        if sides == 4:
            u = u / 1.4  # a rhombus: a square stretched along u
        inradius = d / 2 * np.cos(np.pi / sides)
        depth = _polygon_depth(u, v, sides, inradius)
        return np.clip(depth / inradius, 0, None) * d * 0.8
    if p.shape in ("triangle-plate", "hexagon-plate"):
        sides = 3 if p.shape.startswith("triangle") else 6
        depth = _polygon_depth(u, v, sides, d / 2 * np.cos(np.pi / sides))
        return np.where(depth > 0, 0.35 * d, 0.0)
    if p.shape == "nanostar":
        outline = _star_radius(p, np.arctan2(v, u))
        rho = np.sqrt(u * u + v * v)
        flat = np.sqrt(np.clip(3.0 * (1.0 - rho / outline), 0, 1))  # flat, thinning near the edge
        return 0.8 * d * flat * (rho < outline)
    raise ValueError(f"unknown shape {p.shape!r}; known: {', '.join(SHAPES + IRREGULAR_SHAPES)}")


def _star_radius(p: Particle, theta: np.ndarray) -> np.ndarray:
    """Outline radius (nm) of a nanostar at polar angle ``theta``: a lumpy core with 4-9 tapered
    spikes reaching out to the nominal radius (star-convex, like gold nanostars and the spiky
    particles of EMPS 4e13b5c5f8)."""
    rng = _particle_rng(p)
    r = p.diameter_nm / 2
    core = rng.uniform(0.45, 0.7)
    lumps = np.ones_like(theta)
    for order in (2, 3):
        lumps += rng.uniform(0.0, 0.08) * np.cos(order * theta + rng.uniform(0, 2 * np.pi))
    spikes = np.zeros_like(theta)
    for _ in range(int(rng.integers(4, 10))):
        off = np.angle(np.exp(1j * (theta - rng.uniform(0, 2 * np.pi))))  # wrapped to (-pi, pi]
        height = rng.uniform(0.4, 1.0) * np.clip(1.0 - np.abs(off) / rng.uniform(0.15, 0.35), 0, None)
        spikes = np.maximum(spikes, height)
    return r * np.minimum(core * lumps + (1.0 - core) * spikes, 1.0)


def _polygon_depth(u: np.ndarray, v: np.ndarray, sides: int, inradius: float) -> np.ndarray:
    """Distance inside a regular polygon (negative outside), nm."""
    depth = np.full(u.shape, np.inf)
    for k in range(sides):
        a = 2 * np.pi * k / sides
        depth = np.minimum(depth, inradius - (u * np.cos(a) + v * np.sin(a)))
    return depth


def _particle_rng(p: Particle) -> np.random.Generator:
    """Random numbers of one particle's interior, seeded by where and how large it is: the same
    particle gets the same pores or domains, without drawing from the scene's generator."""
    return np.random.default_rng(int(abs(p.row * 7919 + p.col * 104729 + p.diameter_nm * 1e3)) % 2**32)


def _internal_structure(p: Particle, u, v, thick):
    if p.structure == "solid":
        return thick
    rho = np.sqrt(u * u + v * v)
    r = p.diameter_nm / 2
    inside = thick > 0
    if p.structure == "core-shell":  # a denser core
        core = 2.0 * np.sqrt(np.clip((0.6 * r) ** 2 - rho * rho, 0, None))
        return thick + 1.5 * core
    if p.structure == "hollow":
        cavity = 2.0 * np.sqrt(np.clip((0.55 * r) ** 2 - rho * rho, 0, None))
        return np.where(inside, np.maximum(thick - 0.9 * cavity, 0.08 * p.diameter_nm), 0.0)
    if p.structure == "rim":  # darker rim, lighter centre
        return np.where(inside, thick * (0.6 + 0.6 * np.clip(rho / r, 0, 1) ** 2), 0.0)
    if p.structure == "porous":  # mesoporous: random pores a few % of the size across
        from scipy.ndimage import gaussian_filter

        noise = _particle_rng(p).standard_normal(thick.shape)
        pores = gaussian_filter(noise, max(1.0, 0.02 * thick.shape[0]))
        pores /= pores.std() + 1e-9
        return np.where(inside, thick * np.clip(0.8 + 0.35 * pores, 0.2, None), 0.0)
    if p.structure == "domains":  # twinned or bent crystals: parts of one particle diffract differently
        rng = _particle_rng(p)
        length = max(p.aspect, 1.0) * r
        across = rng.random() < 0.6  # most often a cut across the long axis (rods: dark and grey halves)
        a = rng.normal(0.0, 0.2) if across else rng.uniform(0, np.pi)
        offsets = np.sort(rng.uniform(-0.6, 0.6, size=rng.integers(1, 3))) * length
        side = np.searchsorted(offsets, u * np.cos(a) + v * np.sin(a))  # which domain each point is in
        factors = rng.uniform(0.45, 1.7, size=len(offsets) + 1)
        return np.where(inside, thick * factors[side], 0.0)
    if p.structure == "grains":
        phase = np.sin(u * 1.7 / max(r, 1e-3) * 3) * np.cos(v * 2.3 / max(r, 1e-3) * 3)
        return np.where(inside, thick * (1.0 + 0.35 * np.sign(phase)), 0.0)
    raise ValueError(f"unknown structure {p.structure!r}")
