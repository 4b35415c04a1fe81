import dataclasses

import numpy as np
import pytest
from scipy import ndimage as ndi

from nanosizer.io import read_micrographs
from nanosizer.synth import PRESETS, SceneParams, generate, preset_params, synth, write_synth


@pytest.mark.parametrize("preset", list(PRESETS))
def test_every_preset_renders_with_consistent_truth(preset):
    s = synth(preset, rng=5, size=256)
    assert s.image.shape == (256, 256) and s.mask.shape == s.image.shape
    assert (s.labels > 0).sum() == s.mask.sum()
    assert len(s.table) == len(s.full_masks)
    if s.mask.any() and (~s.mask).any():
        # particles are darker than the background at any contrast above the noise (brighter in
        # dark-field presets)
        img = s.image.astype(float)
        sign = -1 if s.params.dark_field else 1
        assert sign * img[s.mask].mean() < sign * img[~s.mask].mean()


@pytest.mark.parametrize("contrast", [0.15, 0.5, 2.0])
def test_truth_mask_is_darker_at_every_contrast(contrast):
    params = SceneParams(
        size_px=(256, 256), pixel_size_nm=0.2, mean_diameter_nm=6, contrast=contrast, coverage=0.15
    )
    s = generate(params, rng=2)
    img = s.image.astype(float)
    assert img[s.mask].mean() < img[~s.mask].mean() - 2 * img[~s.mask].std() / np.sqrt(s.mask.sum())


def test_same_seed_same_image_and_truth():
    a, b, c = (
        synth("mixed-shapes", rng=7, size=256),
        synth("mixed-shapes", rng=7, size=256),
        synth("mixed-shapes", rng=8, size=256),
    )
    assert np.array_equal(a.image, b.image) and np.array_equal(a.labels, b.labels)
    assert a.table.equals(b.table)
    assert not np.array_equal(a.image, c.image)


def test_sizes_follow_the_requested_lognormal():
    params = SceneParams(
        size_px=(1024, 1024),
        pixel_size_nm=0.5,
        mean_diameter_nm=10.0,
        diameter_spread=0.2,
        coverage=0.3,
        overlap="high",
    )
    s = generate(params, rng=3)
    d = s.table["nominal_diameter_nm"].to_numpy()
    assert len(d) > 200
    assert d.mean() == pytest.approx(10.0, rel=0.05)
    assert np.log(d).std() == pytest.approx(0.2, rel=0.15)
    # the truth table measures the full masks: ECD tracks the nominal sphere diameter
    inner = ~s.table["touches_border"].to_numpy()
    ratio = s.table["equivalent_diameter_nm"].to_numpy()[inner] / d[inner]
    assert np.median(ratio) == pytest.approx(1.0, abs=0.03)


def test_written_files_are_calibrated_and_readable(tmp_path):
    s = synth("pt-cubes", rng=1, size=256)
    path = write_synth(s, tmp_path, "cubes")
    (m,) = read_micrographs(path)
    assert m.pixel_size_nm == pytest.approx(s.pixel_size_nm, rel=1e-6)
    assert np.array_equal(m.data, s.image)
    (labels,) = read_micrographs(tmp_path / "truth" / "cubes_labels.tif")
    assert np.array_equal(labels.data, s.labels)
    masks = np.load(tmp_path / "truth" / "cubes_full_masks.npz")
    assert masks["offsets"].shape == (len(s.full_masks), 2)


def test_distractors_are_background():
    params = SceneParams(size_px=(256, 256), coverage=0.4, distractors=("info-bar", "scale-bar", "text"))
    s = generate(params, rng=4)
    bar = max(12, 256 // 14)
    assert not s.mask[-bar:].any()


def test_training_v3_has_faint_scenes_above_a_size_aware_visibility_floor():
    faint = 0
    for seed in range(300):
        p = preset_params("training-v3", np.random.default_rng(seed), 512)
        if p.saturate:
            continue
        diameter_px = p.mean_diameter_nm / p.pixel_size_nm
        assert p.contrast * np.sqrt(p.dose) * diameter_px >= 12 - 1e-9
        faint += p.contrast < 0.4
    assert faint >= 20  # the faint regime is really drawn (about a fifth of unsaturated scenes)


def test_figure_panels_have_black_labels_darker_than_every_particle():
    s = synth("figure-panel", rng=3, size=256)
    img = s.image.astype(float)
    bar = max(12, 256 // 14)
    assert img[-bar:].min() == 0 and not s.mask[-bar:].any()  # the info bar: black, background
    assert img[s.mask].min() > 0


def _draws(preset, base, seeds=range(200)):
    """(preset, base) parameter pairs drawn from the same generator seed, 384² scenes."""

    def draw(name, seed):
        return preset_params(name, np.random.default_rng(seed), 384)

    return [(draw(preset, seed), draw(base, seed)) for seed in seeds]


def test_training_shapes_v3_draws_long_rods_that_fit_the_scene():
    """A quarter of the scenes hold rods longer than v2's (aspect up to 10), never longer than
    0.6 of the scene; the rest are v2's scenes, some with particles in domains."""
    long_scenes = 0
    for v3, v2 in _draws("training-shapes-v3", "training-shapes-v2"):
        if v3.aspect_range[0] == 3.0 and v3.shapes == ("rod",):
            long_scenes += 1
            width = v3.mean_diameter_nm / v3.pixel_size_nm
            assert 8 - 1e-9 <= width <= 30 + 1e-9
            assert width * v3.aspect_range[1] <= 0.6 * 384 + 1e-6
        else:
            assert dataclasses.replace(v3, structures=v2.structures) == v2
            assert v3.structures in (v2.structures, (*v2.structures, "domains"))
    assert 30 <= long_scenes <= 70


def test_training_shapes_v4_is_v2_with_domains_in_some_scenes_and_no_long_rods():
    """v4 = v2's scene with the domains structure added in about 40 % of the scenes; nothing
    else changes (no long rods, unlike v3)."""
    with_domains = 0
    for v4, v2 in _draws("training-shapes-v4", "training-shapes-v2"):
        assert dataclasses.replace(v4, structures=v2.structures) == v2
        assert v4.structures in (v2.structures, (*v2.structures, "domains"))
        with_domains += v4.structures != v2.structures
    assert 55 <= with_domains <= 105


def test_training_shapes_v5_is_v4_with_small_particles_in_some_scenes():
    """v5 = v4's scene with the typical particle 5-16 px wide (coverage at most 0.5) in about a
    fifth of the scenes; nothing else changes."""
    small = 0
    for v5, v4 in _draws("training-shapes-v5", "training-shapes-v4"):
        if v5 != v4:
            small += 1
            width = v5.mean_diameter_nm / v5.pixel_size_nm
            assert 5 - 1e-9 <= width <= 16 + 1e-9 and v5.coverage <= 0.5
            assert dataclasses.replace(v5, mean_diameter_nm=v4.mean_diameter_nm, coverage=v4.coverage) == v4
    assert 20 <= small <= 60


def test_training_shapes_v6_is_v5_with_nanostars_in_some_scenes():
    """v6 = v5's scene with nanostars (alone or among spheres, 30-90 px across, at most medium
    overlap) in about a fifth of the scenes; nothing else changes."""
    stars = 0
    for v6, v5 in _draws("training-shapes-v6", "training-shapes-v5"):
        if v6 != v5:
            stars += 1
            assert v6.shapes in (("nanostar",), ("nanostar", "sphere"))
            assert 30 - 1e-9 <= v6.mean_diameter_nm / v6.pixel_size_nm <= 90 + 1e-9
            assert v6.overlap in ("none", "touching", "low", "medium")
            same = dict(shapes=v5.shapes, mean_diameter_nm=v5.mean_diameter_nm, overlap=v5.overlap)
            assert dataclasses.replace(v6, **same) == v5
    assert 20 <= stars <= 60


def test_nanostars_are_spiky_star_convex_and_reproducible():
    """A nanostar's full mask is far from convex (spikes), yet every pixel sees the centre along
    a straight line inside the mask (star-convex: what 32 rays can outline); the same particle
    renders the same, another position gives other spikes."""
    from skimage.draw import line
    from skimage.measure import regionprops

    from nanosizer.synth.shapes import Particle, render_particle

    def crop_mask(particle):
        return render_particle(particle, 1.0, (120, 120))[3]

    star = Particle(row=60, col=60, diameter_nm=100, shape="nanostar")
    top, left, thick, mask = render_particle(star, 1.0, (120, 120))
    assert regionprops(mask.astype(int))[0].solidity < 0.85
    centre = (60 - top, 60 - left)
    rows, cols = np.nonzero(mask)
    for r, c in zip(rows[::37], cols[::37], strict=True):
        assert mask[line(centre[0], centre[1], r, c)].all()
    assert np.array_equal(crop_mask(star), mask)
    # one pixel down, the crop moves with the particle: a sphere's crop mask stays the same,
    # a nanostar's spikes are drawn anew (seeded by its position)
    sphere = Particle(row=60, col=60, diameter_nm=100)
    assert np.array_equal(crop_mask(dataclasses.replace(sphere, row=61)), crop_mask(sphere))
    moved = render_particle(dataclasses.replace(star, row=61), 1.0, (120, 120))
    assert moved[:2] == (top + 1, left) and moved[3].shape == mask.shape
    assert not np.array_equal(moved[3], mask)
    assert thick[mask].min() >= 0 and thick.max() <= 80 + 1e-3


def test_domains_split_a_particle_into_parts_of_different_darkness():
    """A rod in domains: its thickness map takes two or three levels along it (diffraction
    contrast), its outline is the solid rod's."""
    from nanosizer.synth.shapes import Particle, render_particle

    solid = Particle(row=40, col=60, diameter_nm=20, shape="rod", aspect=4.0, angle=0.3)
    split = dataclasses.replace(solid, structure="domains")
    _, _, thick_solid, mask_solid = render_particle(solid, 1.0, (80, 120))
    _, _, thick_split, mask_split = render_particle(split, 1.0, (80, 120))
    assert np.array_equal(mask_solid, mask_split)
    ratio = thick_split[mask_split] / thick_solid[mask_split]
    levels, counts = np.unique(np.round(ratio[thick_solid[mask_split] > 1.0], 2), return_counts=True)
    share = counts / counts.sum()
    main = levels[share > 0.1]  # pixels on a domain border mix two levels
    assert 2 <= len(main) <= 3 and share[share > 0.1].sum() > 0.85
    assert main.max() / main.min() > 1.1


def test_catalyst_haadf_puts_bright_particles_on_a_support_heap_with_vacuum_around():
    for seed in range(3):
        scene = synth("catalyst-haadf", rng=seed, size=256)
        assert scene.params.dark_field and scene.params.support_heap > 0
        image = scene.image.astype(float)
        inside = scene.mask
        ring = ndi.binary_dilation(inside, iterations=3) & ~inside
        if inside.any():  # particles are brighter than what lies right around them
            assert image[inside].mean() > image[ring].mean()
        dark = image < np.percentile(image, 20)  # vacuum: the darkest fifth, few particles there
        assert inside[dark].mean() < 0.05
    again = synth("catalyst-haadf", rng=2, size=256)
    np.testing.assert_array_equal(again.image, scene.image)


def test_a_particle_on_a_thick_support_stays_bright_in_linear_dark_field():
    from nanosizer.synth.artefacts import dark_field

    support, particle = 2.0, 0.3  # attenuations: a thick grain, a small metal particle on it
    transmitted = np.exp(-np.array([0.0, support, support + particle]))  # vacuum, grain, both
    saturating = dark_field(transmitted, np.random.default_rng(0))
    linear = dark_field(transmitted, np.random.default_rng(0), linear=True)
    assert linear[2] - linear[1] == pytest.approx(particle, rel=1e-3)  # adds up: Z-contrast
    assert saturating[2] - saturating[1] < 0.05  # the saturating model hides it
    assert linear[0] == saturating[0]  # same detector offset: vacuum reads alike


def test_training_v7_rebalances_the_modes_and_keeps_the_held_out_family_out():
    drawn = [preset_params("training-v7", np.random.default_rng(seed), 256) for seed in range(300)]
    haadf = sum(p.dark_field and p.support_heap > 0 for p in drawn)
    grain = sum(p.phase_grain > 0 and p.graphitic == 0 for p in drawn)
    assert 32 <= haadf <= 70 and 8 <= grain <= 35  # 16 % and 7 % of 300
    assert all(p.haadf_linear for p in drawn if p.dark_field and p.support_heap > 0)
    assert not any(p.support > 0 for p in drawn)


def test_training_v8_adds_diffraction_contrast_to_bright_field_replay_only():
    drawn = [preset_params("training-v8", np.random.default_rng(seed), 256) for seed in range(300)]
    bragg = [p for p in drawn if p.diffraction > 0]
    assert 40 <= len(bragg) <= 100  # a third of the ~69 % replay scenes
    assert not any(p.dark_field or p.support_heap > 0 for p in bragg)


def test_training_dark_is_dark_field_only_and_never_the_held_out_support():
    drawn = [preset_params("training-dark", np.random.default_rng(seed), 256) for seed in range(200)]
    assert all(p.dark_field for p in drawn)
    catalysts = sum(p.support_heap > 0 for p in drawn)
    assert 95 <= catalysts <= 145  # 60 % catalyst-haadf, the rest free-standing particles
    assert not any(p.support > 0 for p in drawn)  # haadf-support's polycrystalline support


def test_diffraction_contrast_darkens_a_share_of_the_particles_only():
    params = preset_params("overlap-low", np.random.default_rng(3), 384)
    plain = generate(params, np.random.default_rng(3))
    params.diffraction = 0.4
    bragg = generate(params, np.random.default_rng(3))
    np.testing.assert_array_equal(bragg.mask, plain.mask)  # same particles, same truth
    darkness = []
    ids = np.arange(1, plain.labels.max() + 1)
    for scene in (plain, bragg):
        image = scene.image.astype(float)
        darkness.append(np.median(image[~scene.mask]) - ndi.mean(image, scene.labels, ids))
    ratio = np.array(darkness[1]) / np.array(darkness[0])
    assert 0.1 < (ratio > 1.3).mean() < 0.7  # a share much darker...
    assert (np.abs(ratio - 1) < 0.15).mean() > 0.3  # ...the rest as before


def test_catalyst_bf_has_small_dark_particles_on_fringed_carbon():
    scene = synth("catalyst-bf", rng=1, size=256)
    params = scene.params
    assert params.graphitic > 0 and not params.dark_field
    assert 2.0 <= params.mean_diameter_nm <= 5.0 and params.graphitic_px >= 2.5
    assert scene.image[scene.mask].mean() < scene.image[~scene.mask].mean()


def test_training_v6_draws_the_new_modes_and_never_the_held_out_family():
    from nanosizer.synth.presets import HELD_OUT_V6

    drawn = [preset_params("training-v6", np.random.default_rng(seed), 256) for seed in range(300)]
    haadf = sum(p.dark_field and p.support_heap > 0 for p in drawn)
    bf = sum(p.graphitic > 0 for p in drawn)
    grain = sum(p.phase_grain > 0 and p.graphitic == 0 for p in drawn)
    assert 20 <= haadf <= 55 and 10 <= bf <= 40 and 15 <= grain <= 50  # 12 %, 8 %, 10 % of 300
    assert not any(p.support > 0 for p in drawn)  # the polycrystalline support of haadf-support
    assert HELD_OUT_V6 == ("haadf-support",)


def test_training_scenes_of_dark_field_presets_are_inverted_as_inference_sees_them():
    from nanosizer.train.data import _scene

    seed = next(
        s for s in range(50) if preset_params("training-v6", np.random.default_rng(s), 256).dark_field
    )
    image, mask, dark = _scene((seed, 256, "training-v6"))
    assert dark and mask.any() and image[mask].mean() < image[~mask].mean()  # particles dark, as trained


def test_raft_packing_places_particles_close_packed_in_rafts():
    from scipy.spatial import cKDTree

    for seed in range(3):
        params = preset_params("raft-packing", np.random.default_rng(seed), 512)
        params.raft_second_layer = 0.0
        params.raft_vacancy = 0.0
        scene = generate(params, np.random.default_rng(seed))
        diameter_px = params.mean_diameter_nm / params.pixel_size_nm
        centres = scene.table[["centroid_y_nm", "centroid_x_nm"]].to_numpy() / params.pixel_size_nm
        assert len(centres) >= 20
        nearest = cKDTree(centres).query(centres, k=2)[0][:, 1]
        # touching neighbours one diameter apart: close-packed, not scattered
        assert np.median(nearest) == pytest.approx(diameter_px, rel=0.2)
        assert 5 <= params.raft_across <= 40 and 6 <= diameter_px <= 40


def test_raft_particles_are_at_least_a_nanometre_across_except_in_the_shipped_models_recipe():
    from nanosizer.synth.presets import RAFT_MIN_DIAMETER_NM, raft_packing

    drawn = [preset_params("raft-packing", np.random.default_rng(seed), 512) for seed in range(300)]
    assert min(p.mean_diameter_nm for p in drawn) >= RAFT_MIN_DIAMETER_NM - 1e-9
    assert any(p.pixel_size_nm <= 0.1 for p in drawn)  # rafts at HRTEM sampling remain
    sizes = [p.mean_diameter_nm / p.pixel_size_nm for p in drawn]
    assert min(sizes) < 7 and max(sizes) > 35  # still 6-40 px
    # the shape presets that trained the shipped model draw their scenes as they did
    old = [raft_packing(np.random.default_rng(seed), 512, min_diameter_nm=0.0) for seed in range(300)]
    assert min(p.mean_diameter_nm for p in old) < 0.5


def test_supported_catalyst_particles_are_at_least_a_nanometre_across_except_in_the_training_mixes():
    from nanosizer.synth.presets import CATALYST_MIN_DIAMETER_NM, catalyst_haadf

    drawn = [preset_params("catalyst-haadf", np.random.default_rng(seed), 512) for seed in range(300)]
    assert min(p.mean_diameter_nm for p in drawn) >= CATALYST_MIN_DIAMETER_NM - 1e-9
    sizes = [p.mean_diameter_nm / p.pixel_size_nm for p in drawn]
    assert min(sizes) < 3.5 and max(sizes) > 35  # still 3-40 px
    # training-dark (the shipped dark-field decoder's recipe) and the training mixes draw as they did
    old = [catalyst_haadf(np.random.default_rng(seed), 512, min_diameter_nm=0.0) for seed in range(300)]
    assert min(p.mean_diameter_nm for p in old) < 0.5
    for before, now in zip(old, drawn, strict=True):  # a scene of at least 1 nm is drawn as it was
        if before.mean_diameter_nm >= CATALYST_MIN_DIAMETER_NM:
            assert (now.pixel_size_nm, now.contrast) == (before.pixel_size_nm, before.contrast)
    for mix in ("training-dark", "training-v7"):
        mixed = [preset_params(mix, np.random.default_rng(seed), 512) for seed in range(200)]
        assert min(p.mean_diameter_nm for p in mixed if p.dark_field and p.support_heap > 0) < 0.9


def test_training_phase_v2_adds_rafts_at_hrtem_sampling():
    drawn = [preset_params("training-phase-v2", np.random.default_rng(seed), 512) for seed in range(200)]
    rafts = [p for p in drawn if p.raft_across > 0]
    assert 15 <= len(rafts) <= 50  # 15 %
    assert all(p.pixel_size_nm <= 0.1 + 1e-9 and p.mean_diameter_nm >= 0.999 for p in rafts)
    assert not any(p.dark_field for p in drawn)  # bright field only: dark field has its own decoder
    assert sum(p.phase_grain > 0 for p in drawn) > 0.3 * len(drawn)  # the phase-grain family stays in


def test_catalyst_hrtem_speckle_grows_with_the_carbon_and_spares_the_vacuum():
    from dataclasses import replace

    from nanosizer.synth import generate

    seed = next(
        s
        for s in range(50)
        if preset_params("catalyst-hrtem", np.random.default_rng(s), 256).support_heap > 0
    )
    params = preset_params("catalyst-hrtem", np.random.default_rng(seed), 256)
    assert 1.5 <= params.mean_diameter_nm <= 4.0 and params.pixel_size_nm <= 0.06 and params.speckle > 0
    params = replace(params, dose=1e7, dtype="float32", jpeg_quality=0, drift_px=0.0)
    plain = generate(replace(params, speckle=0.0), 5, with_table=False).image
    speckled = generate(params, 5, with_table=False).image
    difference = speckled - plain
    vacuum = plain > np.percentile(plain, 95)  # the brightest: no carbon in the beam
    thick = plain < np.percentile(plain, 30)
    assert difference[vacuum].std() < 0.2 * difference[thick].std()
    assert difference[thick].std() > 0.03 * np.median(plain)  # a speckle of several per cent


def test_training_shapes_v9_adds_rafts_with_a_dense_second_layer():
    drawn = [preset_params("training-shapes-v9", np.random.default_rng(seed), 384) for seed in range(300)]
    rafts = [p for p in drawn if p.raft_across > 0]
    assert 15 <= len(rafts) <= 50  # a tenth
    assert all(0.15 <= p.raft_second_layer <= 0.35 for p in rafts)
    assert all(14 <= p.mean_diameter_nm / p.pixel_size_nm <= 40 for p in rafts)


def test_training_shapes_v10_adds_hrtem_catalysts_to_v9():
    drawn = [preset_params("training-shapes-v10", np.random.default_rng(seed), 384) for seed in range(300)]
    assert 15 <= sum(p.speckle > 0 for p in drawn) <= 50  # a tenth
    assert 10 <= sum(p.raft_across > 0 for p in drawn) <= 45  # v9's tenth of the rest


def test_training_v9_adds_hrtem_catalysts_to_v8():
    drawn = [preset_params("training-v9", np.random.default_rng(seed), 512) for seed in range(400)]
    hrtem = [p for p in drawn if p.speckle > 0]
    assert 15 <= len(hrtem) <= 55  # 8 %
    assert all(p.pixel_size_nm <= 0.06 for p in hrtem)
    assert 40 <= sum(p.dark_field for p in drawn) <= 90  # v8's 16 % HAADF among the rest


def test_training_phase_v3_adds_hrtem_catalysts_to_v2():
    drawn = [preset_params("training-phase-v3", np.random.default_rng(seed), 512) for seed in range(200)]
    assert 25 <= sum(p.speckle > 0 for p in drawn) <= 60  # 20 %
    assert 10 <= sum(p.raft_across > 0 for p in drawn) <= 40  # v2's 15 % of the rest
    assert not any(p.dark_field for p in drawn)
