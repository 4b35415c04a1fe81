"""Fixtures of the training tests (they need torch and onnx, the ``train`` extra)."""

import pytest


@pytest.fixture(scope="module")
def tiny_segmenter(tmp_path_factory):
    """A small random DeepLabv3+ exported as inference ships it."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from nanosizer.train.export import export_onnx
    from nanosizer.train.model import DeepLabV3Plus

    folder = tmp_path_factory.mktemp("segmenter")
    torch.manual_seed(0)
    model = DeepLabV3Plus(decoder_channels=16).eval()
    torch.save(
        {"recipe": {"decoder_channels": 16}, "model": model.state_dict(), "step": 0, "best_iou": 0.0},
        folder / "seg.pt",
    )
    return export_onnx(folder / "seg.pt", folder / "seg.onnx")
