import numpy as np
import pytest
from helpers import disc_mask, polygon_mask, rotated_rectangle

from nanosizer.separate import separate_particles, uecs_split, watershed_split
from nanosizer.settings import Settings


def _ecd(mask):
    return np.sqrt(4 * mask.sum() / np.pi)


def _discs(shape, centres, radius):
    mask = np.zeros(shape, bool)
    for c in centres:
        mask |= disc_mask(shape, c, radius)
    return mask


@pytest.mark.parametrize("radius", [12, 20])
@pytest.mark.parametrize("spacing", [1.6, 1.75])
def test_two_overlapping_discs_split_with_ecd_within_5_percent(radius, spacing):
    d = spacing * radius
    mask = _discs((4 * radius, 6 * radius), [(2 * radius, 2 * radius), (2 * radius, 2 * radius + d)], radius)
    pieces, discarded = uecs_split(mask)
    truth = _ecd(disc_mask((4 * radius,) * 2, (2 * radius,) * 2, radius))
    assert len(pieces) == 2 and discarded == 0
    for piece in pieces:
        assert _ecd(piece) == pytest.approx(truth, rel=0.05)
    # UECS keeps the overlap in both particles: together they cover more than the union.
    assert pieces[0].sum() + pieces[1].sum() > mask.sum()


@pytest.mark.parametrize("radius", [12, 20])
def test_three_discs_in_a_chain_split_into_three(radius):
    # The middle disc regrows into both overlap lenses: at closer spacing its ECD runs 3-7 % high.
    d = 1.8 * radius
    centres = [(2 * radius, 2 * radius + k * d) for k in range(3)]
    mask = _discs((4 * radius, 8 * radius), centres, radius)
    pieces, _ = uecs_split(mask)
    truth = _ecd(disc_mask((4 * radius,) * 2, (2 * radius,) * 2, radius))
    assert len(pieces) == 3
    assert all(_ecd(p) == pytest.approx(truth, rel=0.05) for p in pieces)


def test_three_discs_in_a_triangle_split_into_three():
    r, d = 15, 27.0
    centres = [(40, 40), (40, 40 + d), (40 + d * np.sqrt(3) / 2, 40 + d / 2)]
    pieces, _ = uecs_split(_discs((100, 110), centres, r))
    assert len(pieces) == 3


@pytest.mark.parametrize("angle", [0, 20, 45])
def test_single_convex_particles_are_never_split(angle):
    shape = (120, 120)
    for mask in (
        disc_mask(shape, (60, 60), 30),
        polygon_mask(shape, rotated_rectangle(shape, (60, 60), 30, 70, angle)),
        polygon_mask(shape, rotated_rectangle(shape, (60, 60), 40, 40, angle)),
    ):
        result = separate_particles(mask, 1.0, Settings())
        assert len(result.particles) == 1
        assert not result.particles[0].separated
        assert result.particles[0].area_px == mask.sum()


def test_separate_modes_on_a_pair():
    mask = _discs((60, 100), [(30, 30), (30, 58)], 16)
    uecs = separate_particles(mask, 1.0, Settings(separation="uecs"))
    ws = separate_particles(mask, 1.0, Settings(separation="watershed"))
    none = separate_particles(mask, 1.0, Settings(separation="none"))
    assert len(uecs.particles) == 2 and all(p.separated for p in uecs.particles)
    assert len(ws.particles) == 2
    # The watershed is a partition: its pieces add up to the region exactly.
    assert sum(p.area_px for p in ws.particles) == mask.sum()
    assert len(none.particles) == 1 and none.non_convex_regions == 1


def test_watershed_keeps_a_single_disc_whole():
    mask = disc_mask((80, 80), (40, 40), 25)
    assert len(watershed_split(mask, 2.0)) == 1


def test_border_particles_removed_after_separation():
    mask = disc_mask((80, 80), (40, 40), 10) | disc_mask((80, 80), (5, 70), 10)
    result = separate_particles(mask, 1.0, Settings())
    assert len(result.particles) == 1 and result.border_removed == 1
    kept = separate_particles(mask, 1.0, Settings(remove_border=False))
    assert len(kept.particles) == 2


def test_unseparable_regions_are_listed():
    # A ring-like comb of many holes: more than 10 holes is excluded.
    mask = np.zeros((60, 200), bool)
    mask[10:50, 10:190] = True
    for k in range(12):
        mask[38:45, 20 + 14 * k : 26 + 14 * k] = False
    mask[10:30, 60:140] = False  # make it non-convex too
    result = separate_particles(mask, 1.0, Settings())
    assert result.particles == []
    assert len(result.excluded) == 1 and "holes" in result.excluded[0]["reason"]


def test_small_markers_are_dropped_by_physical_size():
    # Two touching discs of ~25 px area each: markers below 30 px vanish, nothing is kept.
    mask = _discs((30, 40), [(15, 15), (15, 21)], 3)
    result = separate_particles(mask, 1.0, Settings())
    assert result.particles == []


@pytest.mark.parametrize("angle", [0, 17, 45, 71])
def test_cheap_precheck_never_rejects_a_convex_piece_and_rejects_a_necked_pair(angle):
    from nanosizer.measure.geometry import contour_geometry, is_convex
    from nanosizer.separate.uecs import _may_be_convex

    rect = rotated_rectangle((120, 120), (60, 60), 70, 30, angle)
    disc = disc_mask((120, 120), (60, 60), 25)
    for piece in (rect, disc):
        assert is_convex(contour_geometry(piece), 0.95, 0.95)
        assert _may_be_convex(piece, np.count_nonzero(piece), 0.95)
    pair = disc_mask((120, 160), (60, 50), 25) | disc_mask((120, 160), (60, 105), 25)
    assert not is_convex(contour_geometry(pair), 0.95, 0.95)
    assert not _may_be_convex(pair, np.count_nonzero(pair), 0.95)


def test_shift_morphology_equals_scipy_for_both_elements():
    from scipy import ndimage as ndi

    from nanosizer.separate.uecs import dilate, erode, structuring_element

    rng = np.random.default_rng(0)
    for _ in range(100):
        mask = ndi.binary_opening(rng.random(tuple(rng.integers(3, 50, 2))) < 0.6)
        for step in (1, 2):
            element = structuring_element(step)
            assert (erode(mask, step) == ndi.binary_erosion(mask, element)).all()
            assert (dilate(mask, step) == ndi.binary_dilation(mask, element)).all()


def test_marker_limit_follows_small_particles_and_keeps_the_paper_limit_for_large_ones():
    from nanosizer.regions import regions_from_mask
    from nanosizer.separate.separate import marker_limit_px

    # A chain of four heavily overlapping 22 px discs beside three single ones: with the
    # paper's fixed 30 px the eroded pieces vanish before the necks break and the whole
    # cluster is lost; 1 % of a single particle's area (floored at 6 px) keeps all four.
    r, shape = 11, (80, 200)
    mask = _discs(shape, [(20, 20), (20, 60), (60, 20)], r)
    mask |= _discs(shape, [(50, 70 + k * 1.4 * r) for k in range(4)], r)
    paper = separate_particles(mask, 1.0, Settings(min_marker_fraction=0))
    assert len(paper.particles) == 3 and "no convex marker" in paper.excluded[0]["reason"]
    assert len(separate_particles(mask, 1.0, Settings()).particles) == 7
    # Large particles (80 px across): the limit stays at the paper's 30 px.
    big = regions_from_mask(_discs((200, 200), [(60, 60)], 40))
    assert marker_limit_px(big, 1.0, Settings()) == 30
    small = regions_from_mask(_discs(shape, [(20, 20)], r))
    assert marker_limit_px(small, 1.0, Settings()) == 6
    assert marker_limit_px(small, 1.0, Settings(min_marker_fraction=0)) == 30


def _random_cluster(rng, radius=11, shape=(120, 120)):
    """3-5 discs, each overlapping an earlier one (centres 14-19 px apart, never closer than 13)."""
    n = int(rng.integers(3, 6))
    centres = [(60.0, 60.0)]
    while len(centres) < n:
        base = centres[rng.integers(len(centres))]
        angle, dist = rng.uniform(0, 2 * np.pi), rng.uniform(14, 19)
        c = (base[0] + dist * np.sin(angle), base[1] + dist * np.cos(angle))
        if all(np.hypot(c[0] - o[0], c[1] - o[1]) >= 13 for o in centres):
            centres.append(c)
    return [disc_mask(shape, c, radius) for c in centres]


def _matched(pieces, discs):
    used = set()
    for piece in pieces:
        ious = [(piece & d).sum() / (piece | d).sum() for d in discs]
        best = int(np.argmax(ious))
        if ious[best] > 0.5:
            used.add(best)
    return len(used)


def test_later_uecs_rounds_find_the_particles_around_a_clusters_core():
    # A cluster of five discs where the paper's single round ends with three particles; two
    # more rounds on the unclaimed remainder add the other two (one matches its disc at
    # IoU > 0.5, the other, half hidden, comes back smaller).
    discs = _random_cluster(np.random.default_rng(0))
    mask = np.logical_or.reduce(discs)
    single, _ = uecs_split(mask, 6)
    more, _ = uecs_split(mask, 6, rounds=2)
    assert (len(single), len(more)) == (3, 5)
    assert (_matched(single, discs), _matched(more, discs)) == (3, 4)
    # Over 60 further random clusters the extra rounds never give more particles than there
    # are discs, and match more of them.
    rng = np.random.default_rng(1)
    found = {0: 0, 2: 0}
    for _ in range(60):
        discs = _random_cluster(rng)
        mask = np.logical_or.reduce(discs)
        for rounds in found:
            pieces, _ = uecs_split(mask, 6, rounds=rounds)
            assert len(pieces) <= len(discs)
            found[rounds] += _matched(pieces, discs)
    assert found[2] > found[0]
