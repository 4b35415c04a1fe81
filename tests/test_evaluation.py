"""Segmentation metrics against reference masks, and the evaluate command."""

import numpy as np
import pandas as pd
import pytest
import tifffile
from typer.testing import CliRunner

from nanosizer.cli import app
from nanosizer.io.masks import match_masks


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
