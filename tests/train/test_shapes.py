"""The shape head: its targets, a tiny training run on a frozen segmenter, and the exported
model's three outputs as inference reads them."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from nanosizer.segment.network import has_shapes, load_model, predict_maps, predict_probability  # noqa: E402
from nanosizer.train.from_onnx import state_from_onnx  # noqa: E402
from nanosizer.train.shapes import export_shape_model, shape_scene, train_head  # noqa: E402


def test_shape_scenes_are_seeded_and_their_targets_agree():
    image, objects, rays, dark = shape_scene(7, 128)
    again = shape_scene(7, 128)
    np.testing.assert_array_equal(image, again[0])
    assert objects.shape == (32, 32) and rays.shape == (32, 32, 32)
    assert ((rays.max(axis=0) > 0) == (objects > 0)).all()  # rays exactly where a particle is
    assert 0 <= objects.min() and objects.max() == pytest.approx(1.0)


def test_head_trains_on_a_frozen_segmenter_and_exports_one_graph(tiny_segmenter, tmp_path):
    log = train_head(tiny_segmenter, tmp_path / "run", scenes=4, steps=40, batch=2, size=128, val_scenes=2)
    history = log["history"]
    assert history[-1]["val_loss"] < history[0]["val_loss"]
    out = export_shape_model(tiny_segmenter, tmp_path / "run" / "head.pt", tmp_path / "shapes.onnx")
    model, plain = load_model(out), load_model(tiny_segmenter)
    assert has_shapes(model) and not has_shapes(plain)
    image = np.random.default_rng(0).random((100, 140)).astype(np.float32)
    maps = predict_maps(model, image, tile=64, shapes=True)
    assert maps["objects"].shape == (25, 35) and maps["rays"].shape == (32, 25, 35)
    assert maps["rays"].min() >= 0
    # the segmenter inside is the one it was built from
    whole = predict_maps(model, image, shapes=True)
    np.testing.assert_allclose(whole["probability"], predict_probability(plain, image), atol=1e-5)
    assert whole["rays"].shape == maps["rays"].shape
    assert model.info["shape_head"]["steps"] == 40
    # the segmenter's weights still read back from the combined file (fine-tuning from it)
    segmenter = state_from_onnx(out, 16)
    assert all(
        torch.equal(v, w)
        for v, w in zip(segmenter.values(), state_from_onnx(tiny_segmenter, 16).values(), strict=True)
    )


def _one_still_step(segmenter, out, init, seed: int = 0) -> dict:
    """A fine-tune from ``init`` that cannot move the weights: one step at ~0 learning rate."""
    return train_head(
        segmenter, out, scenes=2, steps=1, batch=2, size=128, val_scenes=1, lr=1e-12, seed=seed, init=init
    )


def test_a_fine_tune_starts_from_the_given_head(tiny_segmenter, tmp_path):
    train_head(tiny_segmenter, tmp_path / "first", scenes=2, steps=5, batch=2, size=128, val_scenes=1)
    log = _one_still_step(tiny_segmenter, tmp_path / "again", tmp_path / "first" / "head.pt", seed=3)
    assert log["init"] == str(tmp_path / "first" / "head.pt")
    first = torch.load(tmp_path / "first" / "head.pt", weights_only=False)["branch"]
    again = torch.load(tmp_path / "again" / "head.pt", weights_only=False)["branch"]
    assert all(torch.allclose(first[k], again[k], atol=1e-6) for k in first)  # one step at ~0 lr


def test_auto_separation_is_learned_only_with_a_shape_head(tiny_segmenter):
    from nanosizer.pipeline import resolve_separation
    from nanosizer.settings import Settings

    assert Settings().separation == "auto"
    assert resolve_separation(Settings()).separation == "learned"  # the shipped model has one
    assert resolve_separation(Settings(model=str(tiny_segmenter))).separation == "uecs"
    assert resolve_separation(Settings(segmenter="threshold")).separation == "uecs"
    assert resolve_separation(Settings(separation="watershed")).separation == "watershed"


def test_the_branch_of_an_exported_model_reads_back_for_a_fine_tune(tiny_segmenter, tmp_path):
    from nanosizer.train.from_onnx import branch_state_from_onnx

    train_head(tiny_segmenter, tmp_path / "run", scenes=2, steps=3, batch=2, size=128, val_scenes=1)
    out = export_shape_model(tiny_segmenter, tmp_path / "run" / "head.pt", tmp_path / "shapes.onnx")
    log = _one_still_step(tiny_segmenter, tmp_path / "again", out)
    assert log["init"] == str(out)
    trained = torch.load(tmp_path / "run" / "head.pt", weights_only=False)["branch"]
    again = torch.load(tmp_path / "again" / "head.pt", weights_only=False)["branch"]
    # convolution weights come back as exported (batch norms are folded into them)
    convs = [k for k in trained if k.endswith(".weight") and trained[k].ndim == 4 and "bn" not in k]
    assert convs and all(trained[k].shape == again[k].shape for k in convs)
    head = [k for k in convs if k.startswith("head.")]
    assert all(torch.allclose(trained[k], again[k], atol=1e-5) for k in head)  # no norm follows these
    with pytest.raises(ValueError, match="no shape branch"):
        branch_state_from_onnx(tiny_segmenter)
    with pytest.raises(ValueError, match="--init M.onnx"):  # a mode's branch lives in a model file only
        train_head(tiny_segmenter, tmp_path / "mode", scenes=1, steps=1, init_mode="phase_contrast")
