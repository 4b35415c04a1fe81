import numpy as np
import pytest
from helpers import disc_mask

from nanosizer.segment import clean_mask, normalise, segment_threshold
from nanosizer.segment.cleanup import circle_area_px


def test_normalise_is_robust_to_outliers_and_dtype():
    rng = np.random.default_rng(0)
    base = rng.normal(100, 10, (64, 64))
    base[0, 0] = 1e6  # a hot pixel
    for data in (base.astype(np.float32), np.clip(base, 0, 65535).astype(np.uint16)):
        out = normalise(data)
        assert out.dtype == np.float32 and out.min() == 0.0 and out.max() == 1.0
        assert 0.3 < np.median(out) < 0.7  # the hot pixel does not squash the rest


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_integer_images_normalise_exactly_as_their_float_copy(dtype):
    """The histogram and lookup-table path gives the float path's numbers, bit for bit."""
    rng = np.random.default_rng(3)
    top = np.iinfo(dtype).max
    for k in range(30):
        data = rng.integers(0, rng.integers(1, top + 1), tuple(rng.integers(1, 50, 2))).astype(dtype)
        if k % 6 == 0:
            data[:] = data.flat[0]  # one grey level: all zeros
        percentiles = (0.5, 99.5) if k % 2 else tuple(sorted(rng.uniform(0, 100, 2)))
        expected = normalise(data.astype(np.float32), percentiles)
        np.testing.assert_array_equal(normalise(data, percentiles), expected)


def test_threshold_finds_dark_discs_on_noisy_background():
    rng = np.random.default_rng(1)
    truth = disc_mask((128, 128), (40, 40), 12) | disc_mask((128, 128), (90, 80), 18)
    image = np.where(truth, 80.0, 160.0) + rng.normal(0, 15, truth.shape)
    found = segment_threshold(image, 2.0, "dark")
    iou = (found & truth).sum() / (found | truth).sum()
    assert iou > 0.9
    bright = segment_threshold(255 - image, 2.0, "bright")
    assert ((bright & truth).sum() / (bright | truth).sum()) > 0.9


def test_specks_below_half_a_nanometre_are_removed_and_holes_filled():
    px = 0.05  # nm/px: a 0.5 nm circle has ~78.5 px
    mask = np.zeros((100, 100), bool)
    mask[10:18, 10:18] = True  # 64 px: a speck
    mask[40:80, 40:80] = True
    mask[55:61, 55:61] = False  # 36 px hole: filled
    mask[44:54, 64:74] = False  # 100 px hole: kept
    out = clean_mask(mask, px)
    assert not out[10:18, 10:18].any()
    assert out[55:61, 55:61].all()
    assert not out[44:54, 64:74].any()
    assert circle_area_px(0.5, px) == pytest.approx(np.pi / 4 * 100)


def test_edge_refinement_keeps_confirmed_threshold_regions_on_high_contrast_images():
    from nanosizer.segment import refine_edges
    from nanosizer.settings import Settings

    first, second = disc_mask((128, 128), (40, 40), 12), disc_mask((128, 128), (90, 80), 15)
    image = np.where(first | second, 10.0, 240.0)
    network = disc_mask((128, 128), (41, 40), 14)  # found the first particle, edges a bit off
    notes = []
    refined = refine_edges(image, network, Settings(), notes)
    assert (refined & first).sum() / (refined | first).sum() > 0.95 and not (refined & second).any()
    assert "separability" in notes[0]
    noisy = image + np.random.default_rng(0).normal(0, 80, image.shape)  # low separability
    assert (refine_edges(noisy, network, Settings()) == network).all()


def test_uncertain_network_regions_are_dropped_whole():
    from nanosizer.segment import confident_regions

    prob = np.zeros((40, 60), np.float32)
    prob[5:15, 5:15] = 0.7  # a weak region (grain): never confident
    prob[20:35, 20:35] = 0.6
    prob[25:30, 25:30] = 0.97  # a faint particle with a confident core
    found = prob > 0.5
    kept, dropped = confident_regions(prob, found, 0.9)
    assert dropped == 1 and not kept[5:15, 5:15].any()
    assert kept[20:35, 20:35].all()  # kept whole, edges included: the mask is not re-thresholded
    np.testing.assert_array_equal(confident_regions(prob, found, 0.0)[0], found)


def test_the_confidence_setting_is_checked():
    from nanosizer.settings import Settings

    assert Settings().min_confidence == 0.9
    with pytest.raises(ValueError, match="min_confidence"):
        Settings(min_confidence=1.5)


def test_support_removal_flattens_a_lumpy_support_and_keeps_particles_narrower_than_the_disc():
    from nanosizer.segment import support_removed

    data = np.full((200, 200), 0.9, np.float32)  # network input: bright background, dark particles
    support = disc_mask((200, 200), (100, 100), 60)
    data[support] = 0.4  # a thick support heap, as dark as particles
    on_support, in_vacuum = disc_mask((200, 200), (100, 100), 5), disc_mask((200, 200), (20, 20), 5)
    data[on_support] -= 0.3
    data[in_vacuum] -= 0.3
    flat = support_removed(data, diameter_px=20)
    heap = support & ~disc_mask((200, 200), (100, 100), 12)
    background = ~support & ~disc_mask((200, 200), (20, 20), 12)
    assert abs(np.median(flat[heap]) - np.median(flat[background])) < 0.1  # the heap is gone
    for particle in (on_support, in_vacuum):  # both particles stand out alike
        assert np.median(flat[background]) - flat[particle].mean() > 0.5
    with pytest.raises(ValueError, match="subtract_support_nm"):
        from nanosizer.settings import Settings

        Settings(subtract_support_nm=-1)


def test_the_network_finds_particles_on_a_haadf_support_heap_with_and_without_support_removal():
    """Generated HAADF-STEM of a supported catalyst (particles ~17 px on a lumpy heap): the
    dark-field decoder finds most of the 39 on the raw image (the bright-field one found 3-5);
    taking the support away first keeps them (33 of 39)."""
    from nanosizer.io import Micrograph
    from nanosizer.metrics import instance_counts
    from nanosizer.pipeline import analyze_micrograph
    from nanosizer.settings import Settings
    from nanosizer.synth import synth

    scene = synth("catalyst-haadf", rng=1005, size=512)
    micrograph = Micrograph(scene.image, scene.pixel_size_nm, "synthetic", "catalyst")
    largest = 1.5 * scene.params.mean_diameter_nm
    f1 = {}
    for nm in (0.0, largest):
        result = analyze_micrograph(micrograph, Settings(particles="bright", subtract_support_nm=nm))
        counts = instance_counts(result.labels, scene.labels)
        f1[nm] = 2 * counts["matched"] / (counts["truth"] + counts["predicted"])
    assert f1[0.0] > 0.7 and f1[largest] > 0.7
    assert any("support taken away" in note for note in result.micrograph.notes)


def test_the_imaging_mode_picks_the_decoder_by_polarity_setting_and_pixel_size():
    """Bright particles: the dark-field decoder; dark ones at HRTEM sampling (<= 0.1 nm/px) or
    asked for: the phase-contrast one; otherwise the native decoder (None)."""
    from nanosizer.segment import PHASE_MAX_PIXEL_NM, imaging_mode
    from nanosizer.segment.network import DARK_SWITCH, PHASE_SWITCH
    from nanosizer.settings import Settings

    auto = Settings()
    assert imaging_mode(auto.replace(particles="bright"), 0.05) == DARK_SWITCH
    assert imaging_mode(auto, PHASE_MAX_PIXEL_NM) == PHASE_SWITCH
    assert imaging_mode(auto, 0.3) is None
    assert imaging_mode(auto.replace(phase_contrast="on"), 0.3) == PHASE_SWITCH
    assert imaging_mode(auto.replace(phase_contrast="off"), 0.05) is None
    assert imaging_mode(auto.replace(particles="bright", phase_contrast="on"), 0.05) == DARK_SWITCH
    with pytest.raises(ValueError, match="phase_contrast"):
        auto.replace(phase_contrast="maybe")


def test_fringe_coherence_tells_lattice_fringes_from_a_raft_of_particles():
    """Parallel fringes (any direction) are coherent; generated rafts of small particles and
    plain grain are not, generated fringe-only crystals are: in phase contrast the fine pass
    looks for rafts only where the texture runs no particular way."""
    from scipy import ndimage as ndi

    from nanosizer.segment import FRINGE_MAX_COHERENCE, fringe_coherence
    from nanosizer.synth import generate, preset_params

    rows, cols = np.mgrid[0:160, 0:160].astype(np.float32)
    for angle in (0.0, 0.7, 2.0):
        fringes = np.cos(2 * np.pi * (rows * np.cos(angle) + cols * np.sin(angle)) / 4.0)
        assert fringe_coherence(fringes) > 0.9
    grain = ndi.gaussian_filter(np.random.default_rng(0).random((160, 160)).astype(np.float32), 1.5)
    assert fringe_coherence(grain) < FRINGE_MAX_COHERENCE
    assert fringe_coherence(np.zeros((32, 32), np.float32)) == 0.0
    cases = (("raft-packing", 1003, True), ("raft-packing", 1008, True), ("fringe-only", 1003, False))
    for preset, seed, low in cases:
        rng = np.random.default_rng(seed)
        scene = generate(preset_params(preset, rng, 256), rng)
        assert scene.pixel_size_nm <= 0.1  # both at HRTEM sampling: read in phase contrast
        coherence = fringe_coherence(normalise(scene.image))
        assert coherence < FRINGE_MAX_COHERENCE / 4 if low else coherence > 2 * FRINGE_MAX_COHERENCE, preset
