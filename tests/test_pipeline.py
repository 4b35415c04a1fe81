"""One micrograph through every stage: what analyze_micrograph and segment_micrograph share."""

import numpy as np
import pytest
from helpers import disc_mask

from nanosizer.errors import CalibrationError
from nanosizer.io import Micrograph
from nanosizer.pipeline import analyze_micrograph, segment_micrograph, unmeasured_fraction
from nanosizer.segment import clean_mask
from nanosizer.settings import Settings

THRESHOLD = Settings(segmenter="threshold")


def _field():
    image = np.full((200, 240), 200, np.uint8)
    for centre in [(50, 50), (50, 150), (140, 90), (150, 190)]:
        image[disc_mask(image.shape, centre, 18)] = 40
    return Micrograph(image, 0.5, "test", "field")


def test_analysis_counts_times_and_leaves_the_input_alone():
    micrograph = _field()
    result = analyze_micrograph(micrograph, THRESHOLD)
    assert len(result.particles) == 4 and result.summary["count"] == 4
    assert set(result.timings) == {"segment_s", "clean_s", "separate_s", "measure_s"}
    assert result.particles.equivalent_diameter_nm.between(17, 19.5).all()  # 2 · 18 px · 0.5 nm
    assert micrograph.notes == []  # notes go to the result's own copy
    assert unmeasured_fraction(result) == 0.0


def test_unmeasured_area_leaves_out_particle_sized_pieces_cut_by_the_border_but_not_a_support():
    from types import SimpleNamespace

    from nanosizer.regions import crop_region, paint_labels
    from nanosizer.separate import Separation
    from nanosizer.separate.learned import BORDER_REASON

    shape = (200, 240)
    particles = [crop_region(disc_mask(shape, c, 18), 0, 0) for c in [(60, 60), (60, 160)]]
    cut = crop_region(disc_mask(shape, (150, 5), 18), 0, 0)  # a particle cut by the left edge
    support = np.zeros(shape, bool)
    support[120:, 100:] = True  # a support reaching the border: far larger than a particle
    support = crop_region(support, 0, 0)
    segmentation = paint_labels(particles + [cut, support], shape) > 0
    separation = Separation(particles, excluded_regions=[(cut, BORDER_REASON), (support, BORDER_REASON)])
    result = SimpleNamespace(
        segmentation=segmentation, labels=paint_labels(particles, shape), separation=separation
    )
    assert unmeasured_fraction(result) == pytest.approx(support.area_px / segmentation.sum())
    separation.particles, result.labels = [], np.zeros(shape, np.int32)  # nothing measured: no
    assert unmeasured_fraction(result) == 1.0  # particle size to compare a piece with


def test_segmentation_alone_is_the_analysis_first_half_also_with_a_roi():
    micrograph = _field()
    settings = THRESHOLD.replace(roi=(0, 0, 100, 240))
    binary = segment_micrograph(micrograph, settings)
    result = analyze_micrograph(micrograph, settings)
    assert binary.shape == (100, 240) and np.array_equal(binary, result.segmentation)
    assert len(result.particles) == 2  # the two upper discs; the rest lies outside the region
    notes = []
    segment_micrograph(micrograph, settings, notes=notes)
    assert any("region of interest" in n for n in notes)


def test_pixel_size_outside_the_plausible_range_is_refused():
    micrograph = _field()
    micrograph.pixel_size_nm = 1e6
    with pytest.raises(CalibrationError, match="plausible range"):
        analyze_micrograph(micrograph, THRESHOLD)


def test_learned_separation_counts_overlapping_particles_uecs_excludes():
    from nanosizer.metrics import instance_counts
    from nanosizer.synth import synth

    counts = {}
    sample = synth("overlap-high", rng=11, size=512)
    inner = ~sample.table["touches_border"].to_numpy()
    micrograph = Micrograph(sample.image, sample.pixel_size_nm, "synthetic", "overlap-high")
    for separation in ("uecs", "learned"):
        result = analyze_micrograph(micrograph, Settings(separation=separation))
        counts[separation] = instance_counts(result.labels, sample.labels, inner)
        assert (result.particles["hidden_fraction"] > 0).any()
    f1 = {k: 2 * c["matched"] / (c["predicted"] + c["truth"]) for k, c in counts.items()}
    assert counts["learned"]["excluded"] < counts["uecs"]["excluded"] / 2, counts
    assert f1["learned"] >= f1["uecs"], f1


def test_learned_separation_with_a_given_mask_still_reads_outlines_from_the_image():
    from nanosizer.synth import synth

    sample = synth("overlap-medium", rng=12, size=384)
    micrograph = Micrograph(sample.image, sample.pixel_size_nm, "synthetic", "overlap-medium")
    result = analyze_micrograph(micrograph, Settings(separation="learned"), mask=sample.mask)
    assert np.array_equal(result.segmentation, clean_mask(sample.mask, sample.pixel_size_nm))
    assert any("outlines where particles overlap from the network" in n for n in result.micrograph.notes)
    from nanosizer.metrics import instance_counts

    counts = instance_counts(result.labels, sample.labels, ~sample.table["touches_border"].to_numpy())
    assert counts["matched"] >= 0.6 * counts["truth"] > 0, counts


def test_learned_separation_needs_a_model_with_a_shape_head():
    with pytest.raises(ValueError, match="network segmenter"):
        analyze_micrograph(_field(), THRESHOLD.replace(separation="learned"))


def test_the_default_separation_is_decided_and_recorded():
    result = analyze_micrograph(_field(), THRESHOLD)  # the threshold segmenter: no outlines
    assert result.settings.separation == "uecs" and result.summary["settings"]["separation"] == "uecs"
