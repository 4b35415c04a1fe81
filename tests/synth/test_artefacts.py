"""Domain randomisation (issue 15): each effect does what it says, only when on, and the truth
stays right (marks over the image are background)."""

import dataclasses

import numpy as np
import pytest
from scipy import ndimage as ndi

from nanosizer.synth import SceneParams, generate, preset_params
from nanosizer.synth.artefacts import ANNOTATIONS, jpeg_roundtrip
from nanosizer.synth.presets import HELD_OUT

BASE = SceneParams(size_px=(256, 256), pixel_size_nm=0.2, mean_diameter_nm=6, coverage=0.3, dtype="float32")


def _with(**changes):
    return dataclasses.replace(BASE, **changes)


def test_effects_that_are_off_change_nothing():
    plain = generate(BASE, rng=1)
    off = dict(phase_grain=0.0, lattice_contrast=0.0, fresnel=0.0, scan_noise=0.0, wedge=0.0, drift_px=0.0)
    again = generate(_with(**off, moire=0.0, align=0.0), rng=1)
    assert np.array_equal(plain.image, again.image) and np.array_equal(plain.labels, again.labels)


@pytest.mark.parametrize("kinds", [(kind,) for kind in ANNOTATIONS] + [ANNOTATIONS, ("inset",)])
def test_figure_marks_are_background_in_the_truth(kinds):
    plain = generate(BASE, rng=3)
    marked = generate(_with(annotations=kinds), rng=3)
    changed = plain.image != marked.image
    assert changed.sum() > 20  # something was drawn
    assert not marked.mask[changed].any()
    assert np.array_equal(marked.mask, plain.mask & ~changed)


def test_phase_grain_adds_background_structure_at_its_scale():
    def grain(image, mask):
        band = ndi.gaussian_filter(image, 2) - ndi.gaussian_filter(image, 4)
        return band[~ndi.binary_dilation(mask, iterations=4)].std()

    plain = generate(_with(dose=5000), rng=2)
    grainy = generate(_with(dose=5000, phase_grain=0.15, grain_px=8), rng=2)
    assert grain(grainy.image, grainy.mask) > 3 * grain(plain.image, plain.mask)


def test_lattice_contrast_puts_fringes_inside_particles_only():
    params = _with(dose=5000, contrast=0.05, lattice_contrast=0.4, pixel_size_nm=0.05, mean_diameter_nm=3)
    s = generate(params, rng=4)
    plain = generate(dataclasses.replace(params, lattice_contrast=0.0), rng=4)
    # fringes of 0.2-0.4 nm at 0.05 nm/px: periods of 4-8 px
    high = s.image - ndi.gaussian_filter(s.image, 3)
    high_plain = plain.image - ndi.gaussian_filter(plain.image, 3)
    inside = ndi.binary_erosion(s.mask, iterations=3)
    outside = ~ndi.binary_dilation(s.mask, iterations=3)
    assert high[inside].std() > 2 * high_plain[inside].std()
    assert high[outside].std() == pytest.approx(high_plain[outside].std(), rel=0.1)


def test_fresnel_fringe_sits_at_particle_edges():
    params = _with(dose=20000, blur_px=0.5)
    plain, halo = generate(params, rng=5), generate(dataclasses.replace(params, fresnel=0.15), rng=5)
    ring = ndi.binary_dilation(halo.mask, iterations=2) & ~halo.mask
    far = ~ndi.binary_dilation(halo.mask, iterations=10)
    difference = halo.image - plain.image
    assert np.abs(difference[ring]).mean() > 5 * np.abs(difference[far]).mean()


def test_scan_noise_makes_line_to_line_jitter():
    def jitter(image):
        return np.std(image.mean(axis=1) - ndi.gaussian_filter1d(image.mean(axis=1), 8))

    flat = _with(dose=5000, coverage=0.05, carbon_texture=0.0)  # no carbon texture: rows alike
    plain, scanned = generate(flat, rng=6), generate(dataclasses.replace(flat, scan_noise=0.05), rng=6)
    assert jitter(scanned.image) > 3 * jitter(plain.image)


def test_crystalline_support_varies_the_background_by_grains():
    flat = _with(dose=5000, carbon_texture=0.0, illumination=0.0)
    supported = generate(dataclasses.replace(flat, support=1.0, support_px=40), rng=8)
    plain = generate(flat, rng=8)
    far = ~ndi.binary_dilation(supported.mask, iterations=4)
    smooth = [ndi.gaussian_filter(s.image, 4)[far].std() for s in (plain, supported)]
    assert smooth[1] > 3 * smooth[0]


def test_dark_field_makes_particles_bright():
    s = generate(_with(dose=2000, dark_field=True), rng=9)
    assert s.image[s.mask].mean() > s.image[~s.mask].mean() + 3 * s.image[~s.mask].std() / 4


def test_jpeg_gives_8_bit_images_with_block_edges():
    image = generate(_with(dose=300), rng=7).image
    out = jpeg_roundtrip(image, 30)
    assert out.dtype == np.uint8 and out.shape == image.shape
    step = np.abs(np.diff(out.astype(float), axis=1))
    edges = np.zeros(step.shape[1], bool)
    edges[7::8] = True
    assert step[:, edges].mean() > 1.1 * step[:, ~edges].mean()
    s = generate(_with(jpeg_quality=50), rng=7)
    assert s.image.dtype == np.uint8


def test_training_v4_never_draws_the_held_out_phase_grain_family():
    drawn = {"annotations": 0, "fresnel": 0, "jpeg_quality": 0, "scan_noise": 0, "lattice_contrast": 0}
    for seed in range(200):
        params = preset_params("training-v4", np.random.default_rng(seed), 512)
        assert params.phase_grain == 0.0
        for key in drawn:
            drawn[key] += bool(getattr(params, key))
    assert all(count >= 15 for count in drawn.values()), drawn  # each effect really is drawn
    for name in HELD_OUT:
        assert preset_params(name, np.random.default_rng(0), 256).phase_grain > 0


@pytest.mark.parametrize("seed", range(6))
def test_an_inset_is_a_framed_corner_box_and_background(seed):
    plain = generate(BASE, rng=seed)
    inset = generate(_with(annotations=("inset",)), rng=seed)
    rows, cols = np.nonzero(inset.image != plain.image)
    top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    assert 0.15 * 256 <= bottom - top <= 0.36 * 256 and bottom - top == right - left  # a square box
    assert top < 0.05 * 256 or bottom > 0.95 * 256  # in a corner
    assert not inset.mask[top:bottom, left:right].any()


def test_a_thickness_wedge_darkens_one_side_of_the_field():
    flat = _with(coverage=0.0, dose=5000, carbon_texture=0.0, illumination=0.0)
    wedge = generate(dataclasses.replace(flat, wedge=2.0), rng=10).image
    smooth = ndi.gaussian_filter(wedge, 8)
    assert smooth.min() < np.exp(-1.5) * smooth.max()  # attenuation rises by 2 across the field
    assert np.ptp(ndi.gaussian_filter(generate(flat, rng=10).image, 8)) < 0.05


def test_drift_smears_edges_along_one_direction_and_keeps_the_particles_in_place():
    def anisotropy(image, mask):
        gy, gx = np.gradient(image)
        edge = ndi.binary_dilation(mask, iterations=2) & ~ndi.binary_erosion(mask, iterations=2)
        tensor = [
            [(gx * gx)[edge].sum(), (gx * gy)[edge].sum()],
            [(gx * gy)[edge].sum(), (gy * gy)[edge].sum()],
        ]
        low, high = np.linalg.eigvalsh(tensor)
        return 1 - low / high

    params = _with(dose=20000, carbon_texture=0.0, blur_px=0.5, mean_diameter_nm=8)
    plain, drifted = generate(params, rng=11), generate(dataclasses.replace(params, drift_px=8.0), rng=11)
    assert anisotropy(drifted.image, drifted.mask) > anisotropy(plain.image, plain.mask) + 0.15
    assert np.array_equal(drifted.labels, plain.labels)
    dark = drifted.image < np.percentile(drifted.image, 20)  # the smeared particles' centres of mass
    dark_plain = plain.image < np.percentile(plain.image, 20)
    shift = np.subtract(ndi.center_of_mass(dark), ndi.center_of_mass(dark_plain))
    assert np.hypot(*shift) < 1.0


def test_moire_gives_particles_stripes_coarser_than_their_lattice():
    params = _with(
        dose=20000,
        contrast=0.1,
        pixel_size_nm=0.1,
        mean_diameter_nm=10,
        coverage=0.2,
        carbon_texture=0.0,
        illumination=0.0,
    )
    plain, moire = generate(params, rng=12), generate(dataclasses.replace(params, moire=0.3), rng=12)
    inside = ndi.binary_erosion(moire.mask, iterations=3)
    coarse = [
        ndi.gaussian_filter(s.image, 2.0)[inside].std() / s.image[~s.mask].mean() for s in (plain, moire)
    ]
    assert coarse[1] > 3 * coarse[0]  # the beat survives a 2-px blur: stripes several px apart
    outside = ~ndi.binary_dilation(moire.mask, iterations=8)  # the background keeps its texture
    texture = [
        ndi.gaussian_filter(s.image, 2.0)[outside].std() / s.image[~s.mask].mean() for s in (plain, moire)
    ]
    assert texture[1] == pytest.approx(texture[0], rel=0.15)


def test_aligned_rods_lie_parallel_beside_their_neighbours():
    from nanosizer.synth.scene import place_particles

    params = _with(
        shapes=("rod",), aspect_range=(3.0, 4.0), agglomerate=1.0, coverage=0.4, overlap="touching"
    )
    angles = {}
    for align in (0.0, 1.0):
        rods = place_particles(dataclasses.replace(params, align=align), np.random.default_rng(13))
        a = np.array([rod.angle for rod in rods])
        centres = np.array([[rod.row, rod.col] for rod in rods])
        nearest = np.argsort(np.hypot(*(centres[:, None] - centres[None]).transpose(2, 0, 1)), axis=1)[:, 1]
        diff = np.abs(a - a[nearest]) % np.pi
        angles[align] = np.median(np.minimum(diff, np.pi - diff))
    assert angles[1.0] < 0.1 < angles[0.0]


def test_training_v5_adds_the_second_round_and_still_holds_out_the_family():
    drawn = {"wedge": 0, "drift_px": 0, "moire": 0, "inset": 0}
    for seed in range(200):
        params = preset_params("training-v5", np.random.default_rng(seed), 512)
        assert params.phase_grain == 0.0
        drawn["inset"] += "inset" in params.annotations
        for key in ("wedge", "drift_px", "moire"):
            drawn[key] += bool(getattr(params, key))
    assert all(count >= 8 for count in drawn.values()), drawn
