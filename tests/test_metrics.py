"""Pure metrics on label arrays: pixel confusion and instance matching."""

import numpy as np
import pytest

from nanosizer.metrics import Confusion, instance_counts, instance_f1, matched_instances, outline_counts
from nanosizer.regions import crop_region, paint_labels


def test_metrics_of_a_hand_made_confusion():
    truth = np.zeros((10, 10), bool)
    truth[:, :4] = True  # 40 particle, 60 background pixels
    pred = np.zeros_like(truth)
    pred[:, :2] = True  # 20 hits
    pred[:, 8:] = True  # 20 false particles
    m = Confusion.of(pred, truth).metrics()
    assert m["iou_particle"] == pytest.approx(20 / 60)
    assert m["dice_particle"] == pytest.approx(40 / 80)
    assert m["iou_background"] == pytest.approx(40 / 80)
    assert m["accuracy_particle"] == pytest.approx(0.5)
    assert m["accuracy_background"] == pytest.approx(40 / 60)
    assert m["global_accuracy"] == pytest.approx(0.6)
    assert m["confusion_particle_as_background"] == pytest.approx(0.5)
    assert m["confusion_background_as_particle"] == pytest.approx(20 / 60)


def test_pooled_confusion_sums_pixels():
    a = Confusion.of(np.ones((2, 2), bool), np.ones((2, 2), bool))
    b = Confusion.of(np.zeros((2, 2), bool), np.ones((2, 2), bool))
    assert (a + b).metrics()["iou_particle"] == pytest.approx(0.5)


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match="differs"):
        Confusion.of(np.zeros((3, 3)), np.zeros((3, 4)))


def test_instances_match_one_to_one_above_half_overlap():
    truth = np.zeros((20, 30), np.int32)
    truth[2:8, 2:8] = 1  # 36 px
    truth[2:8, 12:18] = 2
    truth[12:18, 2:8] = 3
    predicted = np.zeros_like(truth)
    predicted[2:8, 3:9] = 5  # shifted by one column: IoU 30 / 42 > 0.5
    predicted[2:8, 15:21] = 6  # shifted by three: IoU 18 / 54 < 0.5
    predicted[12:18, 2:8] = 7  # exact
    predicted[14:16, 22:24] = 8  # nothing there
    np.testing.assert_array_equal(matched_instances(predicted, truth), [[5, 1], [7, 3]])
    with pytest.raises(ValueError, match="shape"):
        matched_instances(predicted[:5], truth)


def test_instance_f1_counts_hits_misses_and_false_particles():
    truth = np.zeros((20, 30), np.int32)
    truth[2:8, 2:8] = 1
    truth[2:8, 12:18] = 2
    truth[12:18, 2:8] = 3
    predicted = np.zeros_like(truth)
    predicted[2:8, 2:8] = 1  # hit
    predicted[12:18, 2:8] = 2  # hit
    predicted[14:16, 22:24] = 3  # false particle
    assert instance_f1(predicted, truth) == pytest.approx(2 * 2 / (3 + 3))
    assert instance_f1(truth, truth) == 1.0 and instance_f1(np.zeros_like(truth), truth) == 0.0
    # a truth particle left out (e.g. cut by the border) is neutral: its match is no hit, no false one
    keep = np.array([True, True, False])
    assert instance_f1(truth, truth, keep) == 1.0
    assert instance_f1(predicted, truth, keep) == pytest.approx(2 * 1 / (2 + 2))  # 1 hit, 1 false


def test_instance_counts_tell_excluded_from_merged_particles():
    truth = np.zeros((20, 40), int)
    truth[2:8, 2:8] = 1  # found exactly
    truth[2:8, 12:18] = 2  # not measured at all
    truth[10:16, 2:8] = 3  # 3 and 4 measured as one particle
    truth[10:16, 8:14] = 4
    truth[10:16, 20:30] = 5  # found, but only 60 % of it: matched at 0.5, not at 0.75
    found = np.zeros_like(truth)
    found[2:8, 2:8] = 1
    found[10:16, 2:14] = 2
    found[10:16, 20:26] = 3
    found[17:19, 30:38] = 4  # a scale bar taken for a particle
    counts = instance_counts(found, truth)
    assert counts == {
        "truth": 5,
        "predicted": 4,
        "matched": 2,
        "matched_75": 1,
        "excluded": 1,
        "merged": 2,
        "on_background": 1,
    }
    assert instance_f1(found, truth) == 2 * counts["matched"] / (counts["predicted"] + counts["truth"])
    neutral = instance_counts(found, truth, np.array([False, True, True, True, True]))
    assert neutral["truth"] == 4 and neutral["predicted"] == 3 and neutral["matched"] == 1


def test_instance_counts_keep_a_truth_particle_hidden_under_others():
    """The last truth particle lies wholly under another: absent from the painted label image,
    it is still one of the truth particles (missed by any visible-part match)."""
    truth = np.zeros((10, 20), int)
    truth[2:8, 2:8] = 1
    truth[2:8, 10:16] = 2  # particle 3 (kept) lies under it: no pixel of label 3
    counts = instance_counts(truth.copy(), truth, np.array([True, True, True]))
    assert (counts["truth"], counts["matched"], counts["excluded"]) == (3, 2, 0)


def _disc(shape, centre, radius):
    rr, cc = np.mgrid[: shape[0], : shape[1]]
    return crop_region((rr - centre[0]) ** 2 + (cc - centre[1]) ** 2 <= radius**2, 0, 0)


def test_whole_outlines_match_where_the_painting_order_differs():
    """Two overlapping particles found with their sizes a little swapped: compared whole, both
    match; painted (smaller on top), the visible parts of both miss."""
    shape = (80, 100)
    truth = [_disc(shape, (40, 35), 20), _disc(shape, (40, 50), 18)]
    found = [_disc(shape, (40, 35), 18), _disc(shape, (40, 50), 20)]
    whole = outline_counts(found, truth)
    assert (whole["matched"], whole["predicted"], whole["truth"]) == (2, 2, 2)
    visible = instance_counts(paint_labels(found, shape), paint_labels(truth, shape))
    assert visible["matched"] == 0


def test_whole_outlines_are_assigned_one_to_one():
    """One outline over two heavily overlapping particles (IoU > 0.5 with both) matches one."""
    shape = (60, 60)
    truth = [_disc(shape, (30, 28), 15), _disc(shape, (30, 32), 15)]
    found = [_disc(shape, (30, 30), 15)]
    counts = outline_counts(found, truth)
    assert (counts["matched"], counts["predicted"], counts["truth"]) == (1, 1, 2)
    assert outline_counts([], truth) == {"truth": 2, "predicted": 0, "matched": 0, "matched_75": 0}


def test_whole_outlines_matched_to_neutral_truth_are_not_counted():
    shape = (60, 120)
    truth = [_disc(shape, (30, 30), 12), _disc(shape, (30, 90), 12)]
    found = [_disc(shape, (30, 31), 12), _disc(shape, (30, 90), 12)]
    counts = outline_counts(found, truth, keep_truth=np.array([True, False]))
    assert counts == {"truth": 1, "predicted": 1, "matched": 1, "matched_75": 1}
