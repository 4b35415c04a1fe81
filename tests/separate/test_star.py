"""Star-convex outlines: ray targets, polygons, suppression and the learned separation on
outline predictions made from the truth (the network's part is tested with the model)."""

import numpy as np
import pytest
from helpers import disc_mask

from nanosizer.metrics import instance_f1
from nanosizer.regions import Region, paint_labels, shared_pixels
from nanosizer.segment.shapes import GRID, ShapeField
from nanosizer.separate import separate_particles
from nanosizer.separate.star import (
    object_probability,
    polygon_vertices,
    ray_angles,
    ray_distances,
    ray_targets,
    star_region,
    suppress,
)
from nanosizer.settings import Settings
from nanosizer.synth import generate, preset_params


def test_rays_of_a_disc_are_its_radius_and_fill_back_to_it():
    mask = disc_mask((80, 80), (40, 40), 20.0)
    d = ray_distances(mask, [(40, 40)])[0]
    assert d.shape == (32,)
    np.testing.assert_allclose(d, 20.35, atol=0.55)  # the digitised edge: 19.85–20.85
    region = star_region(np.array([40.0, 40.0]), d, mask.shape)
    iou = (region.mask & mask[region.slices]).sum() / (
        mask.sum() + region.area_px - (region.mask & mask[region.slices]).sum()
    )
    assert iou > 0.97
    assert abs(region.area_px / mask.sum() - 1) < 0.03


def test_star_regions_are_the_pixels_a_polygon_fill_gives():
    from skimage.draw import polygon as fill_polygon

    rng = np.random.default_rng(0)
    for k in range(200):
        point = rng.uniform(-10, 110, 2)  # some polygons cut by the image edge
        d = rng.uniform(0, 40, 32) if k % 2 else np.full(32, rng.uniform(2, 40))
        vertices = polygon_vertices(point, d)
        expected = np.zeros((100, 100), bool)
        expected[fill_polygon(vertices[:, 0], vertices[:, 1], expected.shape)] = True
        got = np.zeros((100, 100), bool)
        region = star_region(point, d, got.shape)
        if region is not None:
            got[region.slices] = region.mask
        assert np.array_equal(got, expected)


def test_rays_from_off_centre_points_reach_the_same_outline():
    mask = disc_mask((80, 80), (40, 40), 20.0)
    for point in [(30, 45), (50, 33)]:
        d = ray_distances(mask, [point])[0]
        region = star_region(np.array(point, float), d, mask.shape)
        assert abs(region.area_px / mask.sum() - 1) < 0.04


def test_ray_targets_give_a_covered_particle_its_whole_outline():
    shape = (100, 100)
    big = Region(disc_mask(shape, (50, 40), 22.0), 0, 0)
    small = Region(disc_mask(shape, (50, 58), 15.0), 0, 0)  # overlaps the big one
    labels = paint_labels([big, small], shape)  # the smaller one stays visible in the overlap
    rays = ray_targets(labels, [big, small])
    # the big disc's grid points lie in its visible part, yet their rays reach its full outline
    i, j = 50 // GRID, 32 // GRID
    assert labels[i * GRID, j * GRID] == 1
    region = star_region(np.array([i * GRID, j * GRID], float), rays[:, i, j], shape)
    assert abs(region.area_px / big.area_px - 1) < 0.04
    assert region.area_px > np.count_nonzero(labels == 1) * 1.1  # more than what is visible


def test_suppression_keeps_overlapping_pairs_and_drops_duplicates():
    shape = (100, 120)
    points = np.array([[50.0, 40.0], [51.0, 42.0], [50.0, 72.0]])
    distances = np.array([np.full(32, 20.0), np.full(32, 19.0), np.full(32, 20.0)])
    kept = suppress(points, distances, np.array([0.9, 0.8, 0.7]), shape, max_overlap=0.6)
    assert [k for k, _ in kept] == [0, 2]  # centres 32 px apart: 27 % of the smaller shared


def test_round_outlines_may_share_more_than_elongated_ones():
    shape = (100, 140)
    # two discs of radius 20, centres 10 px apart: 68 % of each shared (a sphere half over another)
    points = np.array([[50.0, 50.0], [50.0, 60.0]])
    discs = np.full((2, 32), 20.0)
    scores = np.array([0.9, 0.8])
    assert len(suppress(points, discs, scores, shape, max_overlap=0.5)) == 1
    assert len(suppress(points, discs, scores, shape, 0.5, max_round_overlap=0.7)) == 2
    assert len(suppress(points, discs, scores, shape, 0.5, max_round_overlap=0.6)) == 1
    # the same overlap between elongated outlines (rods 3:1) is one rod predicted twice
    theta = ray_angles(32)
    rod = 1.0 / np.sqrt((np.cos(theta) / 30.0) ** 2 + (np.sin(theta) / 10.0) ** 2)
    points = np.array([[50.0, 60.0], [50.0, 75.0]])
    rods = np.stack([rod, rod])
    first, second = (star_region(p, rod, shape) for p in points)
    assert 0.5 < shared_pixels(first, second) / first.area_px < 0.7
    assert rods.min() < 0.4 * rods.max()
    assert len(suppress(points, rods, scores, shape, 0.5, max_round_overlap=0.7)) == 1


def test_object_probability_peaks_at_one_per_particle():
    shape = (60, 60)
    labels = paint_labels(
        [Region(disc_mask(shape, (20, 20), 10), 0, 0), Region(disc_mask(shape, (40, 40), 8), 0, 0)], shape
    )
    target = object_probability(labels)
    assert target[labels == 0].max() == 0
    for value in (1, 2):
        assert target[labels == value].max() == pytest.approx(1.0)


def oracle_field(scene) -> ShapeField:
    """What a perfect shape head would predict for a generated scene."""
    return ShapeField(
        object_probability(scene.labels)[::GRID, ::GRID], ray_targets(scene.labels, scene.full_masks)
    )


@pytest.mark.parametrize("preset", ["overlap-high", "mixed-shapes"])
def test_learned_separation_recovers_every_particle_from_perfect_outlines(preset):
    rng = np.random.default_rng(5)
    scene = generate(preset_params(preset, rng, 384), rng)
    settings = Settings(separation="learned")
    sep = separate_particles(scene.mask, scene.pixel_size_nm, settings, oracle_field(scene))
    labels = paint_labels(sep.particles, scene.mask.shape)
    inner = ~scene.table["touches_border"].to_numpy()
    assert instance_f1(labels, scene.labels, inner) > 0.95
    assert not any(p.touches_border(scene.mask.shape) for p in sep.particles)
    if preset == "overlap-high":  # overlapping particles keep their whole outline
        whole = np.mean([p.area_px for p in sep.particles])
        truth = np.mean(
            [r.area_px for r, b in zip(scene.full_masks, scene.table["touches_border"], strict=True) if not b]
        )
        assert abs(whole / truth - 1) < 0.05


def test_learned_separation_needs_outline_predictions():
    with pytest.raises(ValueError, match="outline predictions"):
        separate_particles(np.ones((10, 10), bool), 1.0, Settings(separation="learned"))


def _field_of(parts: list[np.ndarray], coarse=None) -> ShapeField:
    """What a perfect shape head would predict if the particles were ``parts``."""
    labels = paint_labels([Region(part, 0, 0) for part in parts], parts[0].shape)
    regions = [Region(part, 0, 0) for part in parts]

    def coarse_pass(wide):
        assert wide  # asked only for regions that need it
        return (coarse,)

    return ShapeField(
        object_probability(labels)[::GRID, ::GRID],
        ray_targets(labels, regions),
        coarse_pass=None if coarse is None else coarse_pass,
    )


def _cut(disc: np.ndarray, pieces: int) -> list[np.ndarray]:
    """``disc`` cut into halves (2) or quarters (4) through its centre."""
    rows, cols = np.indices(disc.shape)
    centre = np.argwhere(disc).mean(axis=0)
    right, below = cols >= centre[1], rows >= centre[0]
    if pieces == 2:
        return [disc & ~right, disc & right]
    return [disc & (right == r) & (below == b) for r in (False, True) for b in (False, True)]


def test_a_wide_region_takes_the_coarse_outlines_when_they_see_a_large_particle():
    disc = disc_mask((200, 200), (100, 100), 80)  # 160 px: wider than the shape head knows
    field = _field_of(_cut(disc, 2), coarse=_field_of([disc]))  # native: cut in halves
    sep = separate_particles(disc, 1.0, Settings(separation="learned"), field)
    assert len(sep.particles) == 1 and sep.particles[0].area_px == disc.sum()


def test_a_wide_region_keeps_its_native_outlines_when_the_coarse_pass_sees_small_particles():
    disc = disc_mask((200, 200), (100, 100), 80)
    field = _field_of(_cut(disc, 2), coarse=_field_of(_cut(disc, 4)))  # quarters: ~66 px wide
    sep = separate_particles(disc, 1.0, Settings(separation="learned"), field)
    assert len(sep.particles) == 2


def test_a_large_particle_with_small_neighbours_takes_the_coarse_outlines():
    """A 160 px particle touched by two 40 px ones: most coarse outlines are small, but most of
    the region's area is one large particle, which the native pass cut in halves (a scale bar
    across a large particle, carbon film around large ones, gave the same: the plain median
    of the widths kept the halves)."""
    large = disc_mask((260, 260), (110, 110), 80)
    small = [disc_mask((260, 260), centre, 20) for centre in ((110, 209), (209, 110))]
    union = large | small[0] | small[1]
    field = _field_of([*_cut(large, 2), *small], coarse=_field_of([large, *small]))
    sep = separate_particles(union, 1.0, Settings(separation="learned"), field)
    areas = sorted(p.area_px for p in sep.particles)
    assert len(areas) == 3 and abs(areas[-1] / large.sum() - 1) < 0.05


def test_regions_the_head_knows_keep_their_native_outlines():
    disc = disc_mask((50, 50), (25, 25), 20)  # 40 px: the coarse pass is not consulted
    field = _field_of(_cut(disc, 2), coarse=_field_of([disc]))
    sep = separate_particles(disc, 1.0, Settings(separation="learned"), field)
    assert len(sep.particles) == 2


def _refusing_coarse_pass(field: ShapeField, what: str) -> ShapeField:
    """``field`` with a coarse pass that fails the test if the separation asks it (for ``what``)."""

    def never(wide):
        raise AssertionError(f"coarse pass asked for {what}")

    return ShapeField(field.objects, field.rays, coarse_pass=never)


def test_regions_up_to_the_coarse_limit_need_no_coarse_pass():
    """A region 84 px wide (under COARSE_FROM_PX; the head was trained on particles up to
    ~80 px) keeps its native outlines without asking the coarse pass."""
    disc = disc_mask((120, 120), (60, 60), 42)
    field = _refusing_coarse_pass(_field_of(_cut(disc, 2)), "a region the head knows")
    sep = separate_particles(disc, 1.0, Settings(separation="learned"), field)
    assert len(sep.particles) == 2 and sep.coarse_regions == 0


def test_a_wide_particle_with_one_native_outline_needs_no_coarse_pass():
    disc = disc_mask((200, 200), (100, 100), 80)
    field = _refusing_coarse_pass(_field_of([disc]), "a region its native outline explains")
    sep = separate_particles(disc, 1.0, Settings(separation="learned"), field)
    assert len(sep.particles) == 1 and sep.coarse_regions == 0


def _rods(pieces: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Two 48 × 320 px rods lying side by side (a region 96 px wide), each cut into ``pieces``."""
    union = np.zeros((220, 360), bool)
    union[60:156, 20:340] = True
    parts = []
    for top in (60, 108):
        for k in range(pieces):
            part = np.zeros_like(union)
            part[top : top + 48, 20 + k * 320 // pieces : 20 + (k + 1) * 320 // pieces] = True
            parts.append(part)
    return union, parts


def test_a_wide_region_takes_the_coarse_outlines_when_they_see_long_rods():
    """Rods longer than any the shape head was trained on: the native pass cuts them into
    pieces; the coarse pass sees them whole (48 px wide, but 320 px long)."""
    union, native = _rods(4)
    _, whole = _rods(1)
    field = _field_of(native, coarse=_field_of(whole))
    sep = separate_particles(union, 1.0, Settings(separation="learned"), field)
    areas = [p.area_px for p in sep.particles]
    assert len(areas) == 2 and all(abs(a / (48 * 320) - 1) < 0.05 for a in areas)  # 32-ray polygons


def test_a_wide_region_keeps_native_rod_pieces_when_the_coarse_pass_sees_short_ones():
    union, native = _rods(4)
    _, halves = _rods(2)  # 160 px long: within what the head knows
    field = _field_of(native, coarse=_field_of(halves))
    sep = separate_particles(union, 1.0, Settings(separation="learned"), field)
    assert len(sep.particles) == 8


def test_a_small_region_without_outline_is_excluded_not_dropped():
    """The map's small particle beside a large one gets no outline (the head does not know its
    size): it is listed as excluded, however small against the typical particle."""
    large = disc_mask((120, 120), (40, 40), 25)
    small = disc_mask((120, 120), (90, 90), 3)
    sep = separate_particles(large | small, 1.0, Settings(separation="learned"), _field_of([large]))
    assert len(sep.particles) == 1 and sep.particles[0].area_px == large.sum()
    assert [e["reason"] for e in sep.excluded] == ["no learned outline"]
    assert sep.excluded[0]["area_px"] == small.sum()


def test_in_dark_field_a_convex_region_without_outline_is_one_particle():
    """Dark field (particles bright) takes a convex region the head gave no outline as one
    particle; a non-convex one (two touching discs) stays excluded, as in bright field."""
    large = disc_mask((120, 160), (40, 40), 25)
    small = disc_mask((120, 160), (90, 90), 6)
    pair = disc_mask((120, 160), (60, 125), 10) | disc_mask((120, 160), (60, 143), 10)
    field = _field_of([large])
    dark = separate_particles(
        large | small | pair, 1.0, Settings(separation="learned", particles="bright"), field
    )
    assert sorted(p.area_px for p in dark.particles) == [small.sum(), large.sum()]
    assert [e["reason"] for e in dark.excluded] == ["no learned outline"]
    bright = separate_particles(large | small | pair, 1.0, Settings(separation="learned"), field)
    assert len(bright.particles) == 1 and len(bright.excluded) == 2


def test_slivers_between_outlines_are_not_listed():
    """A thin remnant of a region whose particles have outlines is not a particle."""
    left, right = disc_mask((80, 120), (40, 35), 25), disc_mask((80, 120), (40, 85), 25)
    bridge = np.zeros_like(left)
    bridge[39:41, 55:66] = True
    field = _field_of([left, right])
    sep = separate_particles(left | right | bridge, 1.0, Settings(separation="learned"), field)
    assert len(sep.particles) == 2 and sep.excluded == []


def test_outlines_grown_in_a_huge_region_keep_memory_per_particle():
    """A carbon film taken as one region with thousands of outlines: each particle's mask is
    its own small copy (a view of a region-sized array kept 20 GB alive on a 2048² image)."""
    from nanosizer.regions import Region, crop_region
    from nanosizer.separate.learned import _grown_to_map

    region = Region(np.ones((600, 600), bool), 10, 20)
    disc = np.hypot(*np.mgrid[-4:5, -4:5]) <= 4
    outlines = [Region(disc.copy(), 10 + r, 20 + c) for r in range(0, 590, 12) for c in range(0, 590, 12)]
    grown = _grown_to_map(outlines, region)
    assert len(grown) == len(outlines)
    assert all(g.mask.base is None and max(g.mask.shape) <= 9 + 2 * 3 for g in grown)
    assert all(g.mask.sum() >= disc.sum() for g in grown)  # each keeps its outline, grown a little
    assert crop_region(np.pad(disc, 50), 0, 0).mask.base is None


def test_a_raft_of_particles_keeps_its_native_outlines_over_the_coarse_pass():
    """A close-packed raft wider than the shape head reaches: the coarse pass sees it shrunk
    until its particles merge (2 outlines for 105 particles of 31 px before); the native
    outlines, many and alike, are kept."""
    from nanosizer.io import Micrograph
    from nanosizer.metrics import instance_counts
    from nanosizer.pipeline import analyze_micrograph
    from nanosizer.settings import Settings
    from nanosizer.synth import synth

    scene = synth("raft-packing", rng=1000, size=512)
    result = analyze_micrograph(Micrograph(scene.image, scene.pixel_size_nm, "synthetic", "raft"), Settings())
    inner = ~scene.table["touches_border"].to_numpy(dtype=bool)
    counts = instance_counts(result.labels, scene.labels, inner)
    assert counts["truth"] > 100 and result.separation.coarse_regions >= 1  # the coarse pass was asked
    assert 2 * counts["matched"] / (counts["predicted"] + counts["truth"]) > 0.95


def test_leftovers_get_their_real_reason():
    from nanosizer.regions import Region
    from nanosizer.separate.learned import leftover_reason

    shape = (200, 200)
    blob = np.hypot(*np.mgrid[-10:11, -10:11]) <= 10
    assert leftover_reason(Region(blob, 0, 50), shape) == "cut by the border"
    assert leftover_reason(Region(blob, 50, 50), shape) == "no learned outline"
    assert leftover_reason(Region(np.ones((3, 3), bool), 50, 50), shape) == "too small to outline"
    letter = np.zeros((40, 30), bool)  # an 'A' of 4-px strokes
    for k in range(40):
        c = int(15 * k / 40)
        letter[k, 14 - c : 18 - c] = letter[k, 12 + c : 16 + c] = True
    letter[24:28, 6:24] = True
    assert leftover_reason(Region(letter, 50, 50), shape).startswith("thin strokes")


def test_many_excluded_regions_get_a_legend_not_overlapping_labels():
    from nanosizer.regions import Region
    from nanosizer.report.images import MAX_LABELS, overlay_image

    image = np.full((200, 300), 200.0)
    dot = np.ones((4, 4), bool)
    few = [(Region(dot, 20 + 10 * k, 20), "too small to outline") for k in range(3)]
    many = [(Region(dot, 10 + 12 * (k % 14), 20 + 60 * (k // 14)), "too small to outline") for k in range(30)]
    assert len(many) > MAX_LABELS
    plain = overlay_image(image, [], 1.0)
    labelled = overlay_image(image, [], 1.0, few)
    legend = overlay_image(image, [], 1.0, many)
    assert labelled.shape == plain.shape  # labels in the image
    assert legend.shape[0] > plain.shape[0]  # a legend strip below the scale bar


def test_a_raft_of_small_particles_keeps_its_native_outlines_though_some_hold_two():
    """A raft of 20-px particles: some native outlines hold two or three particles (their
    areas' coefficient of variation 0.27), still a raft, not one coarse outline (F1 0.16 with
    the earlier coefficient-of-variation rule)."""
    from nanosizer.io import Micrograph
    from nanosizer.metrics import instance_counts
    from nanosizer.pipeline import analyze_micrograph
    from nanosizer.settings import Settings
    from nanosizer.synth import generate, preset_params

    params = preset_params("raft-packing", np.random.default_rng(500), 512)
    params.pixel_size_nm, params.mean_diameter_nm = 0.2, 20 * 0.2
    scene = generate(params, np.random.default_rng(0))
    result = analyze_micrograph(Micrograph(scene.image, 0.2, "synthetic", "raft"), Settings())
    inner = ~scene.table["touches_border"].to_numpy(dtype=bool)
    counts = instance_counts(result.labels, scene.labels, inner)
    assert counts["truth"] > 200 and result.separation.coarse_regions >= 1
    assert 2 * counts["matched"] / (counts["predicted"] + counts["truth"]) > 0.75
