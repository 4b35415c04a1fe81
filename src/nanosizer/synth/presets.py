"""Named scene presets; each draws its parameters from sensible random ranges."""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from .artefacts import ANNOTATIONS
from .scene import MORE_STRUCTURES, STRUCTURES, SceneParams
from .shapes import SHAPES

DISTRACTORS = ("scale-bar", "text", "info-bar", "contamination", "film-edge")
MORE_DISTRACTORS = ("smudge",)  # kept apart: earlier presets draw from DISTRACTORS only


def _u(rng, lo, hi):
    return float(rng.uniform(lo, hi))


def _logu(rng, lo, hi):
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _base(rng, size, **overrides) -> dict:
    """Microscope and detector settings shared by the presets; keyword arguments override."""
    base = dict(
        size_px=(size, size),
        blur_px=_u(rng, 0.5, 1.5),
        dose=_logu(rng, 30, 500),
        carbon_texture=_u(rng, 0.02, 0.08),
        illumination=_u(rng, 0.0, 0.25),
        dtype=str(rng.choice(["uint8", "uint16", "float32"])),
    )
    return {**base, **overrides}


def ultrasmall_au(rng, size=1024) -> SceneParams:
    """~2 nm gold on carbon at limited contrast (the paper's Fig. 4/5 case)."""
    return SceneParams(
        **_base(rng, size),
        pixel_size_nm=_u(rng, 0.04, 0.08),
        mean_diameter_nm=_u(rng, 1.8, 2.6),
        diameter_spread=_u(rng, 0.15, 0.3),
        coverage=_u(rng, 0.05, 0.15),
        overlap="low",
        contrast=_u(rng, 0.25, 0.6),
        fringes=_u(rng, 0.1, 0.3),
    )


def pt_cubes(rng, size=1024) -> SceneParams:
    """Platinum nanocubes, some touching."""
    return SceneParams(
        **_base(rng, size),
        pixel_size_nm=_u(rng, 0.1, 0.3),
        mean_diameter_nm=_u(rng, 6, 12),
        diameter_spread=0.1,
        shapes=("cube",),
        coverage=_u(rng, 0.1, 0.25),
        overlap="touching",
        contrast=_u(rng, 0.8, 2.0),
        fringes=_u(rng, 0.0, 0.2),
    )


def _overlap(degree: str) -> Callable:
    def preset(rng, size=1024) -> SceneParams:
        return SceneParams(
            **_base(rng, size),
            pixel_size_nm=_u(rng, 0.15, 0.4),
            mean_diameter_nm=_u(rng, 6, 12),
            diameter_spread=0.12,
            coverage=_u(rng, 0.2, 0.3),
            overlap=degree,
            agglomerate=0.5,
            contrast=_u(rng, 0.8, 1.6),
        )

    preset.__doc__ = f"Spheres with {degree} overlap (the paper's Fig. 7)."
    return preset


def low_contrast(rng, size=1024) -> SceneParams:
    """Small particles barely darker than a noisy carbon film."""
    base = _base(rng, size, dose=_logu(rng, 30, 120), carbon_texture=_u(rng, 0.04, 0.08))
    return SceneParams(
        **base,
        pixel_size_nm=_u(rng, 0.08, 0.2),
        mean_diameter_nm=_u(rng, 3, 6),
        coverage=_u(rng, 0.05, 0.15),
        overlap="none",
        contrast=_u(rng, 0.15, 0.35),
    )


def high_contrast(rng, size=1024) -> SceneParams:
    """Large particles saturating to black on a flat bright background (figure-like)."""
    return SceneParams(
        **_base(rng, size, dose=_logu(rng, 1000, 8000), carbon_texture=_u(rng, 0.0, 0.01), illumination=0.02),
        pixel_size_nm=_u(rng, 0.15, 1.0),
        mean_diameter_nm=_u(rng, 30, 90),
        diameter_spread=0.12,
        shapes=("sphere", "cube", "octahedron-hex"),
        structures=("solid", "core-shell", "hollow", "rim"),
        coverage=_u(rng, 0.02, 0.4),
        overlap="touching",
        contrast=_u(rng, 2.5, 5.0),
        saturate=True,
        distractors=("scale-bar", "text"),
    )


def tsem_agglomerates(rng, size=1024) -> SceneParams:
    """Transmission-SEM-like: bipyramids ~25 px across, black on white, sparse to agglomerated."""
    return SceneParams(
        **_base(
            rng,
            size,
            dose=_logu(rng, 3000, 20000),
            carbon_texture=_u(rng, 0.0, 0.008),
            illumination=_u(rng, 0.0, 0.03),
        ),
        pixel_size_nm=_u(rng, 5.0, 9.0),
        mean_diameter_nm=_u(rng, 150, 220),
        diameter_spread=0.2,
        shapes=("octahedron-rhombic", "sphere", "ellipsoid"),
        aspect_range=(1.1, 1.6),
        coverage=_logu(rng, 0.005, 0.3),
        overlap="medium",
        agglomerate=0.85,
        contrast=_u(rng, 1.5, 4.0),
        saturate=True,
    )


def dense_packing(rng, size=1024) -> SceneParams:
    """Close-packed layers and large agglomerates covering most of the field."""
    return SceneParams(
        **_base(rng, size),
        pixel_size_nm=_u(rng, 0.15, 0.5),
        mean_diameter_nm=_u(rng, 15, 60),
        diameter_spread=_u(rng, 0.05, 0.15),
        shapes=("sphere", "cube"),
        structures=("solid", "core-shell"),
        coverage=_u(rng, 0.9, 2.0),  # counts overlaps twice: the covered fraction stays below
        overlap="medium",
        agglomerate=0.9,
        contrast=_u(rng, 0.8, 2.5),
        distractors=("scale-bar", "text"),
    )


def mixed_shapes(rng, size=1024) -> SceneParams:
    """Every shape, rods and plates included, with internal structure."""
    return SceneParams(
        **_base(rng, size),
        pixel_size_nm=_u(rng, 0.15, 0.5),
        mean_diameter_nm=_u(rng, 8, 20),
        shapes=SHAPES,
        aspect_range=(1.3, 4.0),
        structures=STRUCTURES,
        coverage=_u(rng, 0.1, 0.25),
        overlap="low",
        contrast=_u(rng, 0.6, 2.0),
        fringes=_u(rng, 0.0, 0.2),
        distractors=("info-bar", "scale-bar") if rng.random() < 0.5 else (),  # figure-like panels
    )


def figure_panel(rng, size=1024) -> SceneParams:
    """A panel cut from a published figure: pure black info bar, panel letter and scale bar,
    so the darkest pixels are labels and the particles never reach black."""
    return SceneParams(
        **_base(rng, size, dtype="uint8"),
        pixel_size_nm=_u(rng, 0.1, 0.5),
        mean_diameter_nm=_u(rng, 8, 30),
        diameter_spread=0.2,
        shapes=("sphere", "cube", "octahedron-hex"),
        structures=("solid", "core-shell"),
        coverage=_u(rng, 0.1, 0.5),
        overlap="touching",
        agglomerate=0.5,
        contrast=_u(rng, 0.4, 1.2),
        distractors=("info-bar", "text", "scale-bar"),
        black_labels=True,
    )


def _plate_factor(shapes) -> float:
    """Contrast factor for scenes with plates: thin plates attenuate ~3x less than solids."""
    return 2.0 if any(shape.endswith("plate") for shape in shapes) else 1.0


def training(rng, size=512) -> SceneParams:
    """The wide randomisation used to train the network: everything, distractors included.

    Sizes are drawn in pixels (6 to 160 px across) so every scale the network meets at its
    working resolution is covered evenly; a quarter of the scenes use the saturating
    high-contrast regime (black particles on a flat white background) and coverage reaches
    dense packing, as in the real figure crops.
    """
    pixel_size = _logu(rng, 0.02, 1.0)
    saturate = rng.random() < 0.25
    base = _base(
        rng,
        size,
        blur_px=_u(rng, 0.4, 2.0),
        dose=_logu(rng, 20, 1000),
        carbon_texture=_logu(rng, 0.003, 0.02) if saturate else _logu(rng, 0.01, 0.1),
        illumination=_u(rng, 0.0, 0.3),
    )
    return SceneParams(
        **base,
        pixel_size_nm=pixel_size,
        mean_diameter_nm=_logu(rng, 6, 160) * pixel_size,
        diameter_spread=_u(rng, 0.05, 0.35),
        shapes=tuple(rng.choice(SHAPES, size=int(rng.integers(1, 4)), replace=False)),
        aspect_range=(1.2, 4.0),
        structures=tuple(rng.choice(STRUCTURES, size=2)),
        coverage=_u(rng, 0.02, 0.7),
        overlap=str(rng.choice(["none", "touching", "low", "medium", "high"])),
        agglomerate=_u(rng, 0, 0.8),
        contrast=_logu(rng, 1.5, 5.0) if saturate else _logu(rng, 0.3, 3.0),
        saturate=saturate,
        thick_carbon=0.3,
        fringes=_u(rng, 0, 0.3),
        distractors=tuple(d for d in DISTRACTORS if rng.random() < 0.3),
    )


def training_v2(rng, size=512) -> SceneParams:
    """Stage-2 training scenes: ``training`` plus what the first network got wrong.

    Grey organic smudges that are not particles (beside black, saturated particles), mesoporous
    and textured interiors, denser packing, more of the saturating regime, and no particle
    fainter than the shot noise.
    """
    params = training(rng, size)
    params.saturate = params.saturate or rng.random() < 0.1
    if params.saturate:
        params.contrast = max(params.contrast, 1.5)
    params.structures = tuple(rng.choice(STRUCTURES + MORE_STRUCTURES, size=2))
    params.coverage = _u(rng, 0.02, 1.2)
    # Every particle stays visible above the shot noise (thin plates attenuate ~3x less).
    params.contrast = max(params.contrast * _plate_factor(params.shapes), 3.0 / np.sqrt(params.dose))
    # Grey smudges only beside black (saturated) particles: elsewhere they would teach the
    # network that grey, soft-edged particles are background.
    extra = MORE_DISTRACTORS if params.saturate else ()
    params.distractors = tuple(d for d in DISTRACTORS + extra if rng.random() < 0.35)
    return params


def training_v3(rng, size=512, faint: float = 0.2) -> SceneParams:
    """``training-v2`` reaching down to faint particles on noisy carbon (for a GPU run).

    A fifth (``faint``) of the unsaturated scenes are in the low-contrast regime (attenuation
    0.1–0.4, low dose, textured carbon), and the visibility floor depends on particle size: what
    counts is the particle's signal summed over its area against the shot noise
    (contrast · sqrt(dose) · diameter in px ≥ 12), so large faint particles stay in and
    tiny faint ones, which nobody could label, do not.
    """
    params = training_v2(rng, size)
    if not params.saturate and rng.random() < faint:
        params.dose = _logu(rng, 20, 150)
        params.carbon_texture = _u(rng, 0.02, 0.08)
        params.structures = ("solid",)
        diameter_px = params.mean_diameter_nm / params.pixel_size_nm
        floor = 12.0 / (np.sqrt(params.dose) * diameter_px)
        params.contrast = _plate_factor(params.shapes) * max(_logu(rng, 0.1, 0.4), floor)
    return params


def training_faint(rng, size=512) -> SceneParams:
    """``training-v3`` with half the unsaturated scenes faint: a fine-tuning stage for noisy edges."""
    return training_v3(rng, size, faint=0.5)


def training_shapes(rng, size=384) -> SceneParams:
    """Scenes for learning whole outlines: ``training-v2``'s image formation with particles at
    the size the network works at (16–80 px across, where the automatic zoom brings them),
    mostly overlapping or agglomerated, so hidden outlines are common."""
    params = training_v2(rng, size)
    params.mean_diameter_nm = _logu(rng, 16, 80) * params.pixel_size_nm
    params.overlap = str(
        rng.choice(["none", "touching", "low", "medium", "high"], p=[0.1, 0.2, 0.25, 0.25, 0.2])
    )
    params.agglomerate = _u(rng, 0.3, 0.9)
    params.coverage = _u(rng, 0.1, 0.8)
    return params


def rod_rafts(rng, size=1024) -> SceneParams:
    """Nanorods (aspect 2.5–5) lying side by side in rafts and crossing each other, as gold
    nanorod preparations dry on the grid."""
    return SceneParams(
        **_base(rng, size),
        pixel_size_nm=_u(rng, 0.3, 0.6),
        mean_diameter_nm=_u(rng, 8, 14),
        diameter_spread=_u(rng, 0.05, 0.15),
        shapes=("rod",),
        aspect_range=(2.5, 5.0),
        coverage=_u(rng, 0.3, 0.6),
        overlap=str(rng.choice(["touching", "low"])),
        agglomerate=_u(rng, 0.6, 0.9),
        align=_u(rng, 0.6, 0.9),
        contrast=_u(rng, 0.8, 2.0),
        distractors=("scale-bar",),
    )


def large_particles(rng, size=1024) -> SceneParams:
    """Few large particles, 120–250 px across, with porous, grainy or core-shell interiors,
    touching or slightly overlapping (mesoporous silica, large oxide crystals in figure crops)."""
    px = _u(rng, 0.5, 1.5)
    return SceneParams(
        **_base(rng, size),
        pixel_size_nm=px,
        mean_diameter_nm=_u(rng, 120, 250) * px,
        diameter_spread=_u(rng, 0.05, 0.2),
        shapes=("sphere", "ellipsoid", "cube", "octahedron-hex"),
        aspect_range=(1.1, 1.5),
        structures=("porous", "grains", "core-shell", "solid"),
        coverage=_u(rng, 0.2, 0.5),
        overlap=str(rng.choice(["touching", "low"])),
        agglomerate=_u(rng, 0.3, 0.8),
        contrast=_u(rng, 0.8, 2.5),
        distractors=("scale-bar",),
    )


def training_shapes_v2(rng, size=384) -> SceneParams:
    """``training-shapes`` with elongated particles in half the scenes: rods and ellipsoids of
    aspect 1.5–5, often lined up side by side (rafts), 12–50 px wide, so that the shape head
    sees whole outlines up to ~250 px long (the first head cut real nanorods into 2–4 round
    pieces)."""
    params = training_shapes(rng, size)
    if rng.random() < 0.5:
        params.shapes = ("rod",) if rng.random() < 0.6 else ("rod", "ellipsoid")
        params.aspect_range = (1.5, _u(rng, 2.5, 5.0))
        params.mean_diameter_nm = _logu(rng, 12, 50) * params.pixel_size_nm
        params.align = _u(rng, 0.3, 0.9)
        params.overlap = str(rng.choice(["touching", "low", "medium", "high"], p=[0.35, 0.35, 0.2, 0.1]))
    return params


def training_shapes_v4(rng, size=384) -> SceneParams:
    """``training-shapes-v2`` with particles split into domains of different darkness in 40 %
    of the scenes (twinned or bent crystals: the second head cut real rods where a dark half
    meets a grey one, EMPS 3f97a9e821). Unlike v3 it has no long thin rods, which taught the
    head to outline the strokes of burnt-in labels."""
    params = training_shapes_v2(rng, size)
    if rng.random() < 0.4:
        params.structures = (*params.structures, "domains")
    return params


def training_shapes_v5(rng, size=384) -> SceneParams:
    """``training-shapes-v4`` with small particles, 5-16 px wide, in a fifth of the scenes: the
    head gave no outline to particles under ~16 px (EMPS 2cd773d930 and f24b8804c9: 31 of
    838 truth particles in the particle map but left unmeasured)."""
    params = training_shapes_v4(rng, size)
    if rng.random() < 0.2:
        params.mean_diameter_nm = _logu(rng, 5, 16) * params.pixel_size_nm
        params.coverage = min(params.coverage, 0.5)
    return params


def training_shapes_v6(rng, size=384) -> SceneParams:
    """``training-shapes-v5`` with spiky particles (nanostars: a lumpy core and 4-9 tapered
    spikes, star-convex), 30-90 px across, alone or among spheres, in a fifth of the scenes: the
    sixth head cut real spiky particles into 3-6 convex pieces (EMPS 4e13b5c5f8: 14 pieces).
    Measured on the CPU and not shipped (model card): the head learned the stars, and with them
    that a concave blob can be one particle, so it merged overlapping spheres more often; with
    stars in a tenth of the scenes, only apart or touching, it learned neither."""
    params = training_shapes_v5(rng, size)
    if rng.random() < 0.2:
        params.shapes = ("nanostar",) if rng.random() < 0.6 else ("nanostar", "sphere")
        params.mean_diameter_nm = _logu(rng, 30, 90) * params.pixel_size_nm
        params.overlap = str(rng.choice(["none", "touching", "low", "medium"], p=[0.25, 0.35, 0.25, 0.15]))
    return params


def training_shapes_v7(rng, size=384) -> SceneParams:
    """``training-shapes-v5`` with close-packed rafts (``raft-packing``: particles 6-40 px,
    hexagonal to randomly jammed, vacancies, a second layer in patches) in a fifth of the
    scenes: the sixth head outlined a raft of small particles as one object (issue 31)."""
    params = training_shapes_v5(rng, size)
    if rng.random() < 0.2:
        raft = raft_packing(rng, size, min_diameter_nm=0.0)
        raft.raft_across = int(min(raft.raft_across, 0.7 * size * raft.pixel_size_nm / raft.mean_diameter_nm))
        return raft
    return params


def _raft_in_scene(rng, size: int, smallest_px: float = 6.0, largest_px: float = 16.0) -> SceneParams:
    """A ``raft-packing`` scene of particles ``smallest_px``-``largest_px`` across (default
    6-16), its rafts within the scene."""
    raft = raft_packing(rng, size, min_diameter_nm=0.0)
    raft.mean_diameter_nm = _logu(rng, smallest_px, largest_px) * raft.pixel_size_nm
    across = 0.7 * size * raft.pixel_size_nm / raft.mean_diameter_nm
    raft.raft_across = int(min(rng.integers(5, 41), across))
    return raft


def training_shapes_v8(rng, size=384) -> SceneParams:
    """``training-shapes-v5`` with close-packed rafts of small particles only (6-16 px) in a
    fifth of the scenes: the raft rule keeps the native outlines of rafts of 20 px and more
    (:mod:`nanosizer.separate.learned`), and v7's rafts of 6-40 px taught the head to cut
    large particles into alike convex pieces (large-particles F1 0.864 -> 0.707)."""
    params = training_shapes_v5(rng, size)
    if rng.random() < 0.2:
        return _raft_in_scene(rng, size)
    return params


def training_shapes_v9(rng, size=384) -> SceneParams:
    """``training-shapes-v5`` with rafts whose second layer is dense (particles 14-40 px, 15-35 %
    of the hollows holding a particle on top) in a tenth of the scenes: a particle lying over
    three others got no outline of its own (rafts of 20 px: 27 of 29 unmatched)."""
    params = training_shapes_v5(rng, size)
    if rng.random() < 0.1:
        raft = _raft_in_scene(rng, size, 14.0, 40.0)
        raft.raft_second_layer = _u(rng, 0.15, 0.35)
        return raft
    return params


def training_shapes_v10(rng, size=384) -> SceneParams:
    """``training-shapes-v9`` with Pt/C at HRTEM (``catalyst-hrtem``) in a tenth of the scenes:
    the branch taught v9's rafts outlined the speckled carbon of ARDA ``PtC1`` as a raft."""
    if rng.random() < 0.1:
        return catalyst_hrtem(rng, size)
    return training_shapes_v9(rng, size)


def training_shapes_v3(rng, size=384) -> SceneParams:
    """``training-shapes-v4`` with long rods in a quarter of the scenes (aspect 3–10, 8–30 px
    wide, up to ~0.6 of the scene long, lying apart, side by side or crossing: piles of
    nanowires and long rods, which the second head cut into a hundred round pieces, EMPS
    99eb4bad25). (v3 came first; v4 is it without the long rods.)"""
    params = training_shapes_v4(rng, size)
    if rng.random() < 0.25:
        width = _logu(rng, 8, 30)
        params.shapes = ("rod",)
        params.mean_diameter_nm = width * params.pixel_size_nm
        params.aspect_range = (3.0, min(10.0, 0.6 * size / width))
        params.align = _u(rng, 0.0, 0.7)
        params.overlap = str(rng.choice(["touching", "low", "medium", "high"], p=[0.3, 0.3, 0.25, 0.15]))
    return params


def au_phase_grain(rng, size=1024) -> SceneParams:
    """~2 nm Au at 0.03–0.06 nm/px on phase-contrast carbon: grain at the particles' own scale,
    lattice fringes, Fresnel fringes (held out of training: the phase-grain family)."""
    params = ultrasmall_au(rng, size)
    params.pixel_size_nm = _u(rng, 0.03, 0.06)
    params.contrast = _u(rng, 0.3, 0.7)
    params.phase_grain = _u(rng, 0.06, 0.15)
    params.grain_px = _u(rng, 0.15, 0.5) * params.mean_diameter_nm / params.pixel_size_nm
    params.lattice_contrast = _u(rng, 0.1, 0.3)
    params.fresnel = _u(rng, 0.0, 0.1)
    params.carbon_texture = 0.01
    return params


def fringe_only(rng, size=1024) -> SceneParams:
    """Crystals seen by their lattice fringes over carbon grain of the same darkness (held out of
    training: the phase-grain family)."""
    params = au_phase_grain(rng, size)
    params.mean_diameter_nm = _u(rng, 2.5, 5.0)
    params.contrast = _u(rng, 0.05, 0.15)
    params.lattice_contrast = _u(rng, 0.3, 0.5)
    params.phase_grain = _u(rng, 0.04, 0.08)
    params.grain_px = _u(rng, 0.1, 0.3) * params.mean_diameter_nm / params.pixel_size_nm
    params.dose = _logu(rng, 200, 1000)
    return params


def figure_crop(rng, size=1024) -> SceneParams:
    """A crop of a published figure: panel letters, scale bars with labels in any corner, arrows,
    borders, captions over the image, often JPEG-compressed."""
    params = figure_panel(rng, size)
    params.distractors = ()
    params.black_labels = False
    params.annotations = tuple(a for a in ANNOTATIONS if rng.random() < 0.6) or ("panel-letter",)
    params.jpeg_quality = int(rng.integers(40, 95)) if rng.random() < 0.6 else 0
    return params


def stem_scan(rng, size=1024) -> SceneParams:
    """Scanned images: line-to-line gain jitter, sometimes JPEG, on supported particles."""
    params = _overlap("low")(rng, size)
    params.scan_noise = _u(rng, 0.02, 0.08)
    params.jpeg_quality = int(rng.integers(50, 95)) if rng.random() < 0.5 else 0
    return params


def haadf_support(rng, size=1024) -> SceneParams:
    """HAADF-STEM of small metal particles on a polycrystalline oxide support (bright particles;
    analyse with ``--particles bright``), scan lines, sometimes JPEG."""
    params = ultrasmall_au(rng, size)
    params.pixel_size_nm = _u(rng, 0.05, 0.2)
    params.mean_diameter_nm = _u(rng, 1.5, 4.0)
    params.contrast = _u(rng, 0.3, 0.8)
    params.fringes = 0.0
    params.support = _u(rng, 0.8, 2.5)  # the support's thickness varies more than a particle's
    params.support_px = _u(rng, 5.0, 25.0) * params.mean_diameter_nm / params.pixel_size_nm
    params.dark_field = True
    params.dose = _logu(rng, 20, 200)
    params.scan_noise = _u(rng, 0.0, 0.05)
    params.jpeg_quality = int(rng.integers(60, 95)) if rng.random() < 0.5 else 0
    return params


def training_fine_rafts(rng, size=384) -> SceneParams:
    """For the fine pass's head (:mod:`nanosizer.separate.rafts`), trained on scenes seen
    enlarged 3x or 5x: ``training-shapes-v8``'s rafts of small particles (6-16 px) in three
    quarters of the scenes, ``training-shapes-v5`` in the rest (large smooth particles stay whole)."""
    if rng.random() < 0.75:
        return _raft_in_scene(rng, size)
    return training_shapes_v5(rng, size)


RAFT_MIN_DIAMETER_NM = 1.0  # ~30 atoms: below it a "raft" at HRTEM sampling is a crystal's lattice


def raft_packing(rng, size=1024, min_diameter_nm: float = RAFT_MIN_DIAMETER_NM) -> SceneParams:
    """Close-packed monolayers (self-assembled rafts): particles 6-40 px on a hexagonal or a
    randomly jammed packing, rafts 5-40 particles across, vacancies, a second layer in
    patches, size spread 3-15 %. The pixel size (0.05-0.5 nm) is raised where needed so that
    a particle is at least ``min_diameter_nm`` across: a hexagonal pattern of 0.4 nm "particles"
    at 0.06 nm/px is what a crystal seen down a zone axis looks like, not a raft. The shape
    presets that trained the shipped model pass 0 (their scenes as they were)."""
    params = _overlap("low")(rng, size)
    diameter_px = _logu(rng, 6.0, 40.0)
    params.pixel_size_nm = max(_logu(rng, 0.05, 0.5), min_diameter_nm / diameter_px)
    params.mean_diameter_nm = diameter_px * params.pixel_size_nm
    params.diameter_spread = _u(rng, 0.03, 0.15)
    params.shapes = ("sphere",)
    params.raft_across = int(min(rng.integers(5, 41), 0.8 * size / diameter_px))
    params.raft_order = _u(rng, 0.0, 1.0)
    params.raft_vacancy = _u(rng, 0.0, 0.1)
    params.raft_second_layer = _u(rng, 0.0, 0.15) if rng.random() < 0.4 else 0.0
    params.contrast = _u(rng, 0.4, 1.2)
    return params


CATALYST_MIN_DIAMETER_NM = 1.0  # below it: single atoms and few-atom clusters, specks to the sizing


def catalyst_haadf(rng, size=1024, min_diameter_nm: float = CATALYST_MIN_DIAMETER_NM) -> SceneParams:
    """HAADF-STEM of a supported metal catalyst (Ru, Pd, Pt on oxide or carbon): a heap of
    support grains with vacuum around (bright where thick, lumpy, thin edges, holes); metal
    particles 3-40 px across, brighter than the support under them by an obvious to a faint
    margin, mostly on the support and its edges, a few in vacuum, some clustered; scan-line
    noise, sometimes drift and JPEG. The signal adds up through support and particle
    (``haadf_linear``): a particle on a thick grain stays brighter than the grain, as in the
    ARDA images (a saturating first version hid most of them: no network learned it).
    The pixel size (0.05-0.5 nm) is raised where needed so that the mean particle is at least
    ``min_diameter_nm`` across: drawn independently, 31 % of scenes held sub-nm clusters and
    12 % "particles" under the 0.5 nm speck size that the cleanup removes by design.
    ``training-dark``, which trained the shipped dark-field decoder, and the training mixes
    pass 0 (their scenes as they were). Analyse with ``--particles bright``."""
    params = ultrasmall_au(rng, size)
    pixel_size_nm = _logu(rng, 0.05, 0.5)
    diameter_px = _logu(rng, 3.0, 40.0)
    params.pixel_size_nm = max(pixel_size_nm, min_diameter_nm / diameter_px)
    params.mean_diameter_nm = diameter_px * params.pixel_size_nm
    params.diameter_spread = _u(rng, 0.15, 0.35)
    params.coverage = _u(rng, 0.01, 0.1)
    params.agglomerate = _u(rng, 0.0, 0.5)
    params.contrast = _logu(rng, 0.3, 1.2)  # on a support of attenuation 0.3-1.5: faint to obvious
    params.fringes = 0.0
    params.carbon_texture = _u(rng, 0.0, 0.02)
    params.support_heap = _u(rng, 0.3, 1.5)
    params.heap_px = _u(rng, 0.05, 0.3) * size
    params.in_vacuum = 0.1
    params.dark_field = True
    params.haadf_linear = True
    params.blur_px = _u(rng, 0.8, 2.0)
    params.dose = _logu(rng, 20, 300)
    params.scan_noise = _u(rng, 0.0, 0.05)
    params.drift_px = _u(rng, 1.0, 3.0) if rng.random() < 0.25 else 0.0
    params.jpeg_quality = int(rng.integers(60, 95)) if rng.random() < 0.5 else 0
    return params


def catalyst_bf(rng, size=1024) -> SceneParams:
    """Bright-field TEM of a carbon-supported catalyst (Pt/C) at high magnification: dark
    particles of 2-5 nm with lattice fringes on granular carbon that shows its own curved
    graphitic fringes and phase grain as dark as the particles, often the support's edge
    to vacuum."""
    params = au_phase_grain(rng, size)
    params.pixel_size_nm = _u(rng, 0.02, 0.08)
    params.mean_diameter_nm = _u(rng, 2.0, 5.0)
    params.coverage = _u(rng, 0.03, 0.15)
    params.agglomerate = _u(rng, 0.0, 0.3)
    params.contrast = _u(rng, 0.15, 0.6)
    params.phase_grain = _u(rng, 0.02, 0.1)
    params.graphitic = _u(rng, 0.05, 0.2)
    params.graphitic_px = max(2.5, 0.34 / params.pixel_size_nm)
    if rng.random() < 0.6:  # the support's edge in the field: carbon on one side, vacuum beyond
        params.support_heap = _u(rng, 0.1, 0.4)
        params.heap_px = _u(rng, 0.1, 0.4) * size
        params.in_vacuum = 0.02
    return params


def catalyst_hrtem(rng, size=1024) -> SceneParams:
    """Bright-field HRTEM of metal particles on a thick amorphous-carbon support (Pt/C, like
    ARDA's ``PtC2`` and ``Pt_carbon2``): the carbon's own speckle at 0.2-0.45 nm, as strong as
    the particles' contrast or stronger (none over vacuum), a heap whose thickness varies more
    across the field than a particle darkens it, and particles of 1.5-4 nm barely darker than
    the carbon under them, many with lattice fringes."""
    params = catalyst_bf(rng, size)
    params.pixel_size_nm = _u(rng, 0.025, 0.06)
    params.mean_diameter_nm = _u(rng, 1.5, 4.0)
    params.coverage = _u(rng, 0.04, 0.15)
    params.contrast = _u(rng, 0.06, 0.3)
    params.phase_grain = 0.0
    params.speckle = _u(rng, 0.08, 0.35)
    params.speckle_px = _u(rng, 0.2, 0.45) / params.pixel_size_nm
    params.lattice_contrast = _u(rng, 0.05, 0.3) if rng.random() < 0.7 else 0.0
    if rng.random() < 0.7:  # a sheet thickening across the field, its edge to vacuum in view
        params.support_heap = _u(rng, 0.2, 0.6)
        params.heap_px = _u(rng, 0.4, 0.8) * size
    else:  # carbon film over the whole field, thickening across it
        params.support_heap = 0.0
        params.wedge = _u(rng, 0.1, 0.6)
    params.in_vacuum = 0.02
    params.dose = _logu(rng, 100, 1000)
    params.jpeg_quality = int(rng.integers(70, 95)) if rng.random() < 0.5 else 0
    return params


def figure_inset(rng, size=1024) -> SceneParams:
    """``figure-crop`` with an inset box in a corner: a diffraction pattern, an FFT or a size
    histogram (background in the truth)."""
    params = figure_crop(rng, size)
    params.annotations = (*params.annotations, "inset")
    return params


def moire_crystals(rng, size=1024) -> SceneParams:
    """Faceted crystals of weak mass-thickness contrast that show mainly by moiré stripes
    (a crystal on a crystalline layer, or stacked crystals)."""
    params = _overlap("low")(rng, size)
    params.shapes = ("sphere", "cube", "octahedron-hex")
    params.pixel_size_nm = _u(rng, 0.08, 0.2)
    params.mean_diameter_nm = _u(rng, 6.0, 14.0)
    params.contrast = _u(rng, 0.15, 0.4)
    params.moire = _u(rng, 0.15, 0.35)
    params.dose = _logu(rng, 200, 1000)
    return params


def wedge_drift(rng, size=1024) -> SceneParams:
    """A support thickening strongly across the field (a wedge or the rim of a hole: background
    on one side darker than particles on the other) and specimen drift during the exposure."""
    params = _overlap("low")(rng, size)
    params.wedge = _u(rng, 0.5, 2.0)
    params.drift_px = _u(rng, 2.0, 8.0)
    return params


HELD_OUT = ("au-phase-grain", "fringe-only")  # the phase-grain family: never drawn by training-v4


def training_v4(rng, size=512) -> SceneParams:
    """``training-v3`` with the domain randomisation of :mod:`.artefacts`, the phase-grain family
    (:data:`HELD_OUT`) left out: figure-crop marks, Fresnel fringes, lattice-fringe contrast,
    scan lines and JPEG, each in a share of the scenes.

    The effects that erase detail (JPEG, scan lines) stay away from faint scenes
    (contrast · sqrt(dose) · diameter in px below 40): there they would hide particles that the
    truth still marks, and teach the network to doubt faint ones (a first draft without this
    gate lost 0.06 IoU on the low-contrast and ultrasmall-au presets).
    """
    params = training_v3(rng, size)
    diameter_px = params.mean_diameter_nm / params.pixel_size_nm
    faint = params.contrast * np.sqrt(params.dose) * diameter_px < 40
    if rng.random() < 0.35:
        params.annotations = tuple(a for a in ANNOTATIONS if rng.random() < 0.5) or ("scale-label",)
    if rng.random() < 0.25:
        params.fresnel = _u(rng, 0.02, 0.15)
    if rng.random() < 0.15 and not params.saturate:
        params.lattice_contrast = _u(rng, 0.05, 0.3)
    if rng.random() < 0.15 and not faint:
        params.scan_noise = _u(rng, 0.01, 0.05)
    if rng.random() < 0.25 and not faint:
        params.jpeg_quality = int(rng.integers(50, 95))
    return params


def training_v5(rng, size=512) -> SceneParams:
    """``training-v4`` plus the second round of domain randomisation: thickness gradients of the
    support, specimen drift, moiré contrast and inset boxes in figure crops, each in a share
    of the scenes (drift, like JPEG, kept away from faint scenes; the phase-grain family
    :data:`HELD_OUT` still left out)."""
    params = training_v4(rng, size)
    diameter_px = params.mean_diameter_nm / params.pixel_size_nm
    faint = params.contrast * np.sqrt(params.dose) * diameter_px < 40
    if rng.random() < 0.2:
        params.wedge = _u(rng, 0.2, 2.0)
    if rng.random() < 0.15 and not faint:
        params.drift_px = _u(rng, 1.0, min(8.0, 0.3 * diameter_px))
    if rng.random() < 0.1 and not params.saturate:
        params.moire = _u(rng, 0.1, 0.35)
    if params.annotations and rng.random() < 0.3:
        params.annotations = (*params.annotations, "inset")
    return params


def _modes_mix(rng, size: int, shares: tuple[float, ...], rest: Callable | None = None) -> SceneParams:
    """One scene of a training mix: ``catalyst-haadf``, ``catalyst-bf``, ``au-phase-grain`` and
    ``fringe-only`` with these shares, ``rest`` (default ``training-v5``) for the rest (one draw
    picks)."""
    pick = rng.random()
    haadf = functools.partial(catalyst_haadf, min_diameter_nm=0.0)  # the mixes' scenes as they were
    presets = (haadf, catalyst_bf, au_phase_grain, fringe_only)
    for preset, upto in zip(presets, np.cumsum(shares), strict=True):
        if pick < upto:
            return preset(rng, size)
    return (rest or training_v5)(rng, size)


HELD_OUT_V6 = ("haadf-support",)  # never drawn by training-v6: a support morphology it has not seen


def training_v6(rng, size=512) -> SceneParams:
    """``training-v5`` with the imaging modes users bring (issue 30): supported catalysts in
    HAADF-STEM (``catalyst-haadf``, 12 %; trained as inference sees them with ``--particles
    bright``, inverted) and in bright field on graphitic carbon (``catalyst-bf``, 8 %), and the
    phase-grain family that earlier mixes held out (``au-phase-grain`` 6 %, ``fringe-only`` 4 %).

    Held out instead: ``haadf-support`` (:data:`HELD_OUT_V6`), particles on a polycrystalline
    oxide support that fills the field: the same imaging mode as ``catalyst-haadf`` with a
    support the mix never draws, a proxy for micrographs from elsewhere.
    """
    return _modes_mix(rng, size, (0.12, 0.08, 0.06, 0.04))


def training_v7(rng, size=512) -> SceneParams:
    """``training-v6`` rebalanced after its fine-tune lost EMPS's textured particles: more
    ``catalyst-haadf`` (16 %, now unsaturated), ``catalyst-bf`` 8 %, less of the phase-grain
    family (``au-phase-grain`` 4 %, ``fringe-only`` 3 %, which teach that dark textured blobs
    can be background), ``training-v5`` 69 %. ``haadf-support`` stays held out (:data:`HELD_OUT_V6`).
    """
    return _modes_mix(rng, size, (0.16, 0.08, 0.04, 0.03))


def training_v8(rng, size=512) -> SceneParams:
    """``training-v7`` whose bright-field replay scenes (a third of them) show diffraction
    contrast: a share of the particles in a Bragg orientation, 1.5-4x darker than the grey rest.

    Run C (``training-v7``, 2026-12-04) lost EMPS's grey nanorods beside dark ones (5f42a8d4a9
    IoU 0.92 → 0.30): the inverted HAADF support (a grey region around dark particles, labelled
    background) taught that grey beside dark is background. Here grey particles beside dark
    ones are particles too.
    """
    return _with_diffraction(training_v7(rng, size), rng)


def training_v9(rng, size=512) -> SceneParams:
    """``training-v8`` with ``catalyst-hrtem`` in 8 % of the scenes: Pt/C at HRTEM,
    where the carbon's speckle is as strong as the particles. A phase-contrast decoder on the
    frozen encoder stopped at validation IoU 0.76 on such scenes (model card: the third
    version), so the encoder itself should see them in the next GPU round
    (``PRESET=training-v9 scripts/finetune_round.sh``)."""
    if rng.random() < 0.08:
        return catalyst_hrtem(rng, size)
    return training_v8(rng, size)


def _with_diffraction(params: SceneParams, rng) -> SceneParams:
    """A third of the bright-field scenes without a support heap get diffraction contrast."""
    if not params.dark_field and params.support_heap == 0 and rng.random() < 0.33:
        params.diffraction = _u(rng, 0.1, 0.5)
    return params


def training_phase(rng, size=512) -> SceneParams:
    """Bright field only, for the phase-contrast decoder (:mod:`nanosizer.train.mode_decoder`),
    trained on the frozen encoder: ``catalyst-bf`` 20 %, ``au-phase-grain`` 15 %, ``fringe-only``
    10 %, and ``training-v5`` scenes with ``training-v8``'s diffraction contrast as the replay
    of what the network knows (55 %). No dark field: that has its own decoder."""
    return _modes_mix(rng, size, (0.0, 0.2, 0.15, 0.1), _v5_with_diffraction)


def training_phase_v2(rng, size=512) -> SceneParams:
    """``training-phase`` with close-packed rafts at HRTEM sampling (15 %, from the replay's
    share): read in phase contrast, rafts of 1-4 nm particles at 0.05-0.1 nm/px lost half
    their particles to the first phase-contrast decoder, which had never seen one
    (``benchmarks/rafts.py --pixel-nm 0.08``: F1 0.57 at 12 px, 0.90 with the native decoder)."""
    if rng.random() < 0.15:
        return _hrtem_raft(rng, size)
    return _modes_mix(rng, size, (0.0, 0.2 / 0.85, 0.15 / 0.85, 0.1 / 0.85), _v5_with_diffraction)


def training_phase_v3(rng, size=512) -> SceneParams:
    """``training-phase-v2`` with ``catalyst-hrtem`` (20 %): Pt/C at HRTEM where the carbon's
    speckle is as strong as the particles' contrast and the sheet's thickness varies more than a
    particle darkens it; the earlier phase decoders took such carbon for particles (ARDA ``PtC2``,
    F1 0) or lost its faint particles."""
    if rng.random() < 0.2:
        return catalyst_hrtem(rng, size)
    return training_phase_v2(rng, size)


def _hrtem_raft(rng, size: int) -> SceneParams:
    """A ``raft-packing`` scene at HRTEM sampling: particles 10-40 px and at least 1 nm across
    at 0.05-0.1 nm/px, with their own lattice fringes in half of the scenes and faint carbon
    grain in half."""
    raft = raft_packing(rng, size)
    diameter_px = _logu(rng, 10.0, 40.0)
    raft.pixel_size_nm = _logu(rng, max(0.05, RAFT_MIN_DIAMETER_NM / diameter_px), 0.1)
    raft.mean_diameter_nm = diameter_px * raft.pixel_size_nm
    raft.raft_across = int(min(raft.raft_across, 0.7 * size / diameter_px))
    if rng.random() < 0.5:
        raft.lattice_contrast = _u(rng, 0.05, 0.3)
    if rng.random() < 0.5:  # on phase-contrast carbon, its grain fainter than the particles
        raft.phase_grain = _u(rng, 0.02, 0.06)
        raft.grain_px = _u(rng, 0.15, 0.5) * diameter_px
    return raft


def _v5_with_diffraction(rng, size: int) -> SceneParams:
    """A ``training-v5`` scene, with ``training-v8``'s diffraction contrast in a third of them."""
    return _with_diffraction(training_v5(rng, size), rng)


def training_dark(rng, size=512) -> SceneParams:
    """Dark field only, for the dark-field decoder (:mod:`nanosizer.train.mode_decoder`): supported
    catalysts in HAADF-STEM (``catalyst-haadf``, 60 %) and ``training-v5``'s scenes imaged in
    dark field (free-standing particles on thin film, bright on dark; half with the linear
    Z-contrast of ``haadf_linear``). ``haadf-support`` stays held out (:data:`HELD_OUT_V6`)."""
    if rng.random() < 0.6:
        return catalyst_haadf(rng, size, min_diameter_nm=0.0)
    params = training_v5(rng, size)
    params.dark_field = True
    params.haadf_linear = bool(rng.random() < 0.5)
    return params


PRESETS: dict[str, Callable] = {
    "ultrasmall-au": ultrasmall_au,
    "pt-cubes": pt_cubes,
    "overlap-low": _overlap("low"),
    "overlap-medium": _overlap("medium"),
    "overlap-high": _overlap("high"),
    "low-contrast": low_contrast,
    "high-contrast": high_contrast,
    "tsem-agglomerates": tsem_agglomerates,
    "dense-packing": dense_packing,
    "mixed-shapes": mixed_shapes,
    "figure-panel": figure_panel,
    "figure-crop": figure_crop,
    "stem-scan": stem_scan,
    "haadf-support": haadf_support,
    "au-phase-grain": au_phase_grain,
    "fringe-only": fringe_only,
    "training": training,
    "training-v2": training_v2,
    "training-v3": training_v3,
    "training-faint": training_faint,
    "training-shapes": training_shapes,
    "training-v4": training_v4,
    "rod-rafts": rod_rafts,
    "large-particles": large_particles,
    "figure-inset": figure_inset,
    "catalyst-haadf": catalyst_haadf,
    "raft-packing": raft_packing,
    "catalyst-bf": catalyst_bf,
    "catalyst-hrtem": catalyst_hrtem,
    "moire-crystals": moire_crystals,
    "wedge-drift": wedge_drift,
    "training-v5": training_v5,
    "training-v6": training_v6,
    "training-v7": training_v7,
    "training-v8": training_v8,
    "training-v9": training_v9,
    "training-dark": training_dark,
    "training-phase": training_phase,
    "training-phase-v2": training_phase_v2,
    "training-phase-v3": training_phase_v3,
    "training-shapes-v2": training_shapes_v2,
    "training-shapes-v3": training_shapes_v3,
    "training-shapes-v4": training_shapes_v4,
    "training-shapes-v5": training_shapes_v5,
    "training-shapes-v6": training_shapes_v6,
    "training-shapes-v7": training_shapes_v7,
    "training-shapes-v8": training_shapes_v8,
    "training-shapes-v9": training_shapes_v9,
    "training-shapes-v10": training_shapes_v10,
    "training-fine-rafts": training_fine_rafts,
}


def preset_params(name: str, rng: np.random.Generator, size: int | None = None) -> SceneParams:
    """Parameters of a named preset (drawn with ``rng``), optionally at another image size."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
    return PRESETS[name](rng) if size is None else PRESETS[name](rng, size)
