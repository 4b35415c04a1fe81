"""Rafts of alike particles: the outlines' test, the texture and gap contrasts, and the fine
pass that outlines rafts of particles too small for the shape head at the native scale."""

import numpy as np
from scipy import ndimage as ndi

from nanosizer.regions import crop_region
from nanosizer.separate.rafts import (
    FINE_MIN_GAP,
    FINE_MIN_SIZE_AGREEMENT,
    FINE_MIN_TEXTURE,
    gap_contrast,
    is_raft,
    size_agreement,
    texture_contrast,
)


def _hexagonal_raft(diameter: float, across: int, gap: float = 1.5, size: int = 256, seed: int = 0):
    """Dark discs on a hexagonal lattice (bright gaps between them) on a bright noisy
    background: the image, the raft's map region and the discs as regions."""
    rng = np.random.default_rng(seed)
    pitch = diameter + gap
    centre = size / 2
    yy, xx = np.mgrid[:size, :size]
    discs = []
    for row in range(-across // 2, across // 2 + 1):
        for col in range(-across // 2, across // 2 + 1):
            cy = centre + row * pitch * np.sqrt(3) / 2
            cx = centre + (col + 0.5 * (row % 2)) * pitch
            if np.hypot(cy - centre, cx - centre) <= across * pitch / 2:
                discs.append((yy - cy) ** 2 + (xx - cx) ** 2 <= (diameter / 2) ** 2)
    particles = np.any(discs, axis=0)
    image = np.where(particles, 0.25, 0.8) + 0.03 * rng.standard_normal((size, size))
    image = ndi.gaussian_filter(image, 0.7)
    region_mask = ndi.binary_closing(particles, np.ones((3, 3)), iterations=int(gap) + 2)
    region = crop_region(region_mask, 0, 0)
    return image, region, [crop_region(d, 0, 0) for d in discs], region_mask


def test_alike_outlines_covering_a_region_are_a_raft_unequal_or_few_are_not():
    image, region, discs, _ = _hexagonal_raft(12, 9)
    assert len(discs) > 50 and is_raft(discs, region)
    assert not is_raft(discs[:7], region)  # too few to be a raft
    assert not is_raft(discs[::2], region)  # alike, but covering half of it
    assert is_raft(discs[::2], region, min_cover=0.3)  # enough for the fine pass (rest left out)
    halves = [
        crop_region(region.mask & (np.arange(region.mask.shape[1]) < k), region.top, region.left)
        for k in (region.mask.shape[1] // 4, region.mask.shape[1] // 2)
    ]
    assert not is_raft(halves, region)


def _large_particle(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """One uniform dark disc 120 px across on the same background: image and mask."""
    yy, xx = np.mgrid[:256, :256]
    disc = (yy - 128) ** 2 + (xx - 128) ** 2 <= 60**2
    rng = np.random.default_rng(seed)
    image = ndi.gaussian_filter(np.where(disc, 0.25, 0.8) + 0.03 * rng.standard_normal(disc.shape), 0.7)
    return image, disc


def test_a_raft_is_textured_inside_a_uniform_particle_is_not():
    image, region, _, binary = _hexagonal_raft(10, 9)
    assert texture_contrast(region, image, binary) >= FINE_MIN_TEXTURE
    plain, disc = _large_particle(1)
    assert texture_contrast(crop_region(disc, 0, 0), plain, disc) < 0.5 * FINE_MIN_TEXTURE


def test_outlines_meeting_on_bright_gaps_pass_pieces_of_one_particle_do_not():
    image, region, discs, _ = _hexagonal_raft(10, 9)
    assert gap_contrast(discs, region, image) >= FINE_MIN_GAP
    plain, disc = _large_particle(2)
    pieces = []
    for top in range(60, 200, 12):  # the disc cut into 12-px squares
        for left in range(60, 200, 12):
            piece = np.zeros(disc.shape, bool)
            piece[top : top + 12, left : left + 12] = True
            if (piece & disc).any():
                pieces.append(crop_region(piece & disc, 0, 0))
    assert abs(gap_contrast(pieces, crop_region(disc, 0, 0), plain)) < 0.5 * FINE_MIN_GAP


def test_a_raft_of_particles_too_small_for_the_head_is_outlined_on_the_image_enlarged():
    """8-px particles close-packed: one object to the native pass (F1 0 before); the fine
    pass outlines them on the image enlarged, with the model's fine head (F1 0.85 on this
    scene; 0.62 with the native head in the fine pass)."""
    from nanosizer.io import Micrograph
    from nanosizer.metrics import instance_counts
    from nanosizer.pipeline import analyze_micrograph
    from nanosizer.settings import Settings
    from nanosizer.synth import generate, preset_params

    params = preset_params("raft-packing", np.random.default_rng(500), 512)
    params.pixel_size_nm, params.mean_diameter_nm = 0.2, 8 * 0.2
    params.raft_across = 20
    scene = generate(params, np.random.default_rng(0))
    micrograph = Micrograph(scene.image, 0.2, "synthetic", "raft")
    result = analyze_micrograph(micrograph, Settings())
    inner = ~scene.table["touches_border"].to_numpy(dtype=bool)
    counts = instance_counts(result.labels, scene.labels, inner)
    assert result.separation.fine_regions >= 1
    assert any("rafts" in note for note in result.micrograph.notes)
    assert 2 * counts["matched"] / (counts["predicted"] + counts["truth"]) > 0.75


def test_particles_keep_their_size_across_zooms_pieces_of_the_heads_size_do_not():
    """Two EMPS particles of 150,000-250,000 px were cut by the fine head into thousands of
    pieces of its own size (median area 62 -> 27 px from 3x to 5x: 0.44); a raft's particles
    stay the size they are (0.75-0.98 measured)."""

    def discs(diameter: float, n: int):
        return [crop_region(np.hypot(*np.mgrid[-15:16, -15:16]) <= diameter / 2, 0, 0)] * n

    raft = {3.0: discs(8.0, 200), 5.0: discs(7.5, 240)}
    pieces = {3.0: discs(9.0, 650), 5.0: discs(6.0, 2200)}
    assert size_agreement(raft) >= FINE_MIN_SIZE_AGREEMENT > size_agreement(pieces)
    assert size_agreement({3.0: discs(8.0, 200)}) is None  # one zoom: nothing to compare
    assert size_agreement({3.0: [], 5.0: discs(8.0, 200)}) is None


def test_regions_below_the_fine_pass_size_never_ask_for_it():
    """A textured particle of a few thousand px (EMPS: a rod with domains, hollow cubes, a
    porous sphere cut into 10-62 pieces by a fine pass from 2,000 px) keeps its outlines."""
    from nanosizer.segment.shapes import ShapeField
    from nanosizer.separate import separate_particles
    from nanosizer.settings import Settings

    image, _, _, binary = _hexagonal_raft(8, 5, size=96)  # a small raft, ~2,000 px
    asked = []

    def fine_pass(box, zoom):
        asked.append((box, zoom))
        return None

    objects = np.zeros((24, 24), np.float32)
    field = ShapeField(objects, np.zeros((32, 24, 24), np.float32), fine_pass=fine_pass, image=image)
    assert 1000 < binary.sum() < 8000
    separate_particles(binary, 1.0, Settings(separation="learned"), field)
    assert asked == []


def test_a_fine_pass_too_large_to_run_in_seconds_is_not_run():
    from nanosizer.segment import FINE_MAX_INPUT_PX, fine_field

    data = np.zeros((2000, 2000), np.float32)
    assert 2000 * 2000 * 9 > FINE_MAX_INPUT_PX
    assert fine_field(data, (0, 0, 2000, 2000), 3.0) is None
    assert fine_field(data, (0, 0, 64, 64), 3.0, main_zoom=3.0) is None  # no larger than the main pass


def test_a_large_porous_particle_is_not_taken_for_a_raft():
    """Generated large-particles scene 1007: a porous particle 17,000 px large, textured like a
    raft; the fine pass cut it into 36 pieces of unequal sizes (interquartile range 1.0 of the
    median) meeting on its pores (gap contrast 0.12), which a cover of 30 % let through."""
    from nanosizer.io import Micrograph
    from nanosizer.pipeline import analyze_micrograph
    from nanosizer.settings import Settings
    from nanosizer.synth import generate, preset_params

    rng = np.random.default_rng(1007)
    params = preset_params("large-particles", rng, 768)
    scene = generate(params, rng)
    result = analyze_micrograph(
        Micrograph(scene.image, params.pixel_size_nm, "synthetic", "large"), Settings()
    )
    assert result.separation.fine_regions == 0
    assert len(result.particles) <= 2 * scene.labels.max()


def _square_raft(across_px: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Dark 10-px discs on a 12-px square lattice filling a square ``across_px`` wide, on a
    bright background: image and particle map (the whole raft one region)."""
    cell = np.hypot(*np.mgrid[-5.5:6.5, -5.5:6.5]) > 5.0  # True in the gaps
    tiles = np.tile(cell, (across_px // 12, across_px // 12))
    image = np.full((size, size), 0.8)
    start = (size - tiles.shape[0]) // 2
    image[start : start + tiles.shape[0], start : start + tiles.shape[1]] = np.where(tiles, 0.8, 0.25)
    binary = np.zeros((size, size), bool)
    binary[start : start + tiles.shape[0], start : start + tiles.shape[1]] = True
    return image, binary


def test_a_region_too_large_for_any_fine_pass_is_not_examined():
    """A raft (or a carbon film the map took whole) whose box enlarged 3x would exceed the fine
    pass's input limit is left as it is, before its texture is computed."""
    from nanosizer.segment.shapes import ShapeField
    from nanosizer.separate import separate_particles
    from nanosizer.settings import Settings

    for across, size, expected in ((600, 640, True), (1500, 1540, False)):
        image, binary = _square_raft(across, size)
        asked = []

        def fine_pass(box, zoom, asked=asked):
            asked.append(zoom)
            return None

        grid = (size + 3) // 4
        field = ShapeField(
            np.zeros((grid, grid), np.float32),
            np.zeros((32, grid, grid), np.float32),
            fine_pass=fine_pass,
            image=image,
        )
        separate_particles(binary, 1.0, Settings(separation="learned"), field)
        assert bool(asked) == expected, (across, asked)
