"""Segmentation metrics against reference masks, and the evaluate command."""

import numpy as np
import pandas as pd
import pytest
import tifffile
from typer.testing import CliRunner

from nanosizer.cli import app
from nanosizer.evaluation import Confusion, match_masks, matched_instances


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


def test_masks_pair_by_stem(tmp_path):
    images = [tmp_path / "a.tif", tmp_path / "b.tif"]
    masks = [tmp_path / "m" / "b_mask.png", tmp_path / "m" / "a.png"]
    assert match_masks(images, masks) == [(images[0], masks[1]), (images[1], masks[0])]
    with pytest.raises(ValueError, match="c.tif: no reference mask"):
        match_masks([tmp_path / "c.tif"], masks)


def test_evaluate_command_writes_metrics(tmp_path):
    img = np.full((96, 96), 200, np.uint8)
    truth = np.zeros((96, 96), bool)
    truth[20:50, 30:70] = True
    img[truth] = 40
    (tmp_path / "img").mkdir()
    (tmp_path / "masks").mkdir()
    tifffile.imwrite(tmp_path / "img" / "square.tif", img)
    tifffile.imwrite(tmp_path / "masks" / "square.tif", truth.astype(np.uint8) * 255)
    out = tmp_path / "eval"
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            str(tmp_path / "img"),
            str(tmp_path / "masks"),
            "-o",
            str(out),
            "--pixel-size",
            "1",
            "--segmenter",
            "threshold",
        ],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "metrics.csv")
    assert list(table["image"]) == ["square", "ALL (pooled pixels)"]
    assert table["iou_particle"].iloc[-1] > 0.9
    assert (out / "confusion.png").stat().st_size > 1000
    assert set(pd.read_csv(out / "confusion.csv")["class"]) == {"reference_background", "reference_particle"}


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
