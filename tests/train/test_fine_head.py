"""The fine pass's own shape head: trained on enlarged views of scenes, added to a finished
model behind a switch that leaves the native outputs bit for bit as they were."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from nanosizer.segment.network import load_model, predict_maps  # noqa: E402
from nanosizer.train.fine_head import attach_fine_head  # noqa: E402
from nanosizer.train.shapes import export_shape_model, shape_scene, train_head  # noqa: E402


def test_enlarged_scenes_show_a_window_enlarged_with_its_truth():
    image, objects, rays, _ = shape_scene(3, 128, "training-fine-rafts", zooms=(3,))
    plain = shape_scene(3, 128, "training-fine-rafts")
    assert image.shape == (128, 128) and objects.shape == (32, 32) and rays.shape == (32, 32, 32)
    np.testing.assert_array_equal(image, shape_scene(3, 128, "training-fine-rafts", zooms=(3,))[0])
    assert not np.array_equal(image, plain[0])
    assert ((rays.max(axis=0) > 0) == (objects > 0)).all()  # rays exactly where a particle is
    # enlarged 3x: the particles' rays are ~3x as long as in the scene seen whole
    assert np.median(rays[rays > 0]) > 2 * np.median(plain[2][plain[2] > 0])


@pytest.fixture(scope="module")
def models(tiny_segmenter, tmp_path_factory):
    """A model with a shape head, the same with a fine head added, and the fine head as a
    model's only head (its reference outputs)."""
    folder = tmp_path_factory.mktemp("fine")
    train_head(tiny_segmenter, folder / "native", scenes=2, steps=3, batch=2, size=128, val_scenes=1)
    train_head(
        tiny_segmenter,
        folder / "fine",
        scenes=2,
        steps=3,
        batch=2,
        size=128,
        val_scenes=1,
        seed=1,
        zooms=(3, 5),
    )
    native = export_shape_model(tiny_segmenter, folder / "native" / "head.pt", folder / "native.onnx")
    both = attach_fine_head(native, tiny_segmenter, folder / "fine" / "head.pt", folder / "both.onnx")
    reference = export_shape_model(tiny_segmenter, folder / "fine" / "head.pt", folder / "reference.onnx")
    return native, both, reference


def test_the_native_outputs_stay_bit_for_bit(models):
    native, both, _ = models
    image = np.random.default_rng(1).random((96, 160)).astype(np.float32)
    before = predict_maps(load_model(native), image, shapes=True)
    after = predict_maps(load_model(both), image, shapes=True)
    for name in ("probability", "objects", "rays"):
        np.testing.assert_array_equal(before[name], after[name])
    assert load_model(both).fine_head and not load_model(native).fine_head


def test_the_switch_gives_the_fine_heads_outlines(models):
    native, both, reference = models
    image = np.random.default_rng(2).random((96, 160)).astype(np.float32)
    fine = predict_maps(load_model(both), image, shapes=True, fine=True)
    expected = predict_maps(load_model(reference), image, shapes=True)
    np.testing.assert_allclose(fine["objects"], expected["objects"], atol=1e-5)
    np.testing.assert_allclose(fine["rays"], expected["rays"], atol=1e-3)
    assert not np.allclose(fine["rays"], predict_maps(load_model(both), image, shapes=True)["rays"])
    # a model without a fine head answers a fine request with its only head
    plain = predict_maps(load_model(native), image, shapes=True, fine=True)
    np.testing.assert_array_equal(plain["rays"], predict_maps(load_model(native), image, shapes=True)["rays"])
    assert load_model(both).info["fine_head"]["zooms"] == [3, 5]


def test_a_model_gets_one_fine_head(models, tiny_segmenter, tmp_path):
    _, both, _ = models
    head = both.parent / "fine" / "head.pt"
    with pytest.raises(ValueError, match="already has a fine head"):
        attach_fine_head(both, tiny_segmenter, head, tmp_path / "twice.onnx")
    with pytest.raises(ValueError, match="no shape branch"):
        attach_fine_head(tiny_segmenter, tiny_segmenter, head, tmp_path / "none.onnx")


def test_the_fine_head_reads_back_as_a_start_for_training_it_again(models, tiny_segmenter, tmp_path):
    """``--init-mode fine_shapes``: the fine head read back from a finished file (batch norms
    folded) outlines as the one put in, a start for training it again on a new encoder."""
    from nanosizer.segment.network import FINE_SWITCH
    from nanosizer.train.from_onnx import branch_state_from_onnx

    _, both, reference = models
    torch.save({"branch": branch_state_from_onnx(both, FINE_SWITCH)}, tmp_path / "head.pt")
    read = export_shape_model(tiny_segmenter, tmp_path / "head.pt", tmp_path / "read.onnx")
    image = np.random.default_rng(3).random((96, 160)).astype(np.float32)
    got = predict_maps(load_model(read), image, shapes=True)
    expected = predict_maps(load_model(reference), image, shapes=True)
    np.testing.assert_allclose(got["objects"], expected["objects"], atol=1e-5)
    np.testing.assert_allclose(got["rays"], expected["rays"], atol=1e-3)
    native = predict_maps(load_model(both), image, shapes=True)  # the native head reads back as before
    assert not np.allclose(got["rays"], native["rays"])
