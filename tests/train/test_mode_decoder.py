"""Decoders for imaging modes (dark field, phase contrast): added to a finished model behind a
switch that leaves every other image bit for bit as it was, and selected by the mode."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from nanosizer.segment.network import DARK_SWITCH, PHASE_SWITCH, load_model, predict_maps  # noqa: E402
from nanosizer.train.fine_head import attach_fine_head  # noqa: E402
from nanosizer.train.mode_decoder import attach_mode_decoder  # noqa: E402
from nanosizer.train.shapes import export_shape_model, train_head  # noqa: E402


@pytest.fixture(scope="module")
def models(tiny_segmenter, tmp_path_factory):
    """A model with a shape head, a segmenter with the same encoder and another decoder (the
    dark-field one), and the model with that decoder added (also on top of a fine head)."""
    from nanosizer.train.export import export_onnx
    from nanosizer.train.shapes import frozen_segmenter

    folder = tmp_path_factory.mktemp("dark")
    train_head(tiny_segmenter, folder / "native", scenes=2, steps=3, batch=2, size=128, val_scenes=1)
    native = export_shape_model(tiny_segmenter, folder / "native" / "head.pt", folder / "native.onnx")
    net = frozen_segmenter(tiny_segmenter)
    torch.manual_seed(5)
    with torch.no_grad():  # another decoder on the same encoder
        for name, p in net.named_parameters():
            if not name.startswith("encoder."):
                p.add_(0.3 * torch.randn_like(p))
    torch.save(
        {
            "recipe": {"decoder_channels": 16, "preset": "training-dark"},
            "model": net.state_dict(),
            "step": 7,
            "best_iou": 0.5,
        },
        folder / "dark.pt",
    )
    dark = export_onnx(folder / "dark.pt", folder / "dark.onnx")
    both = attach_mode_decoder(native, dark, folder / "both.onnx")
    fine = attach_fine_head(native, tiny_segmenter, folder / "native" / "head.pt", folder / "fine.onnx")
    train_head(dark, folder / "dark_head", scenes=2, steps=3, batch=2, size=128, val_scenes=1, seed=2)
    shaped = attach_mode_decoder(native, dark, folder / "shaped.onnx", folder / "dark_head" / "head.pt")
    all_three = attach_mode_decoder(fine, dark, folder / "all.onnx", folder / "dark_head" / "head.pt")
    reference = export_shape_model(dark, folder / "dark_head" / "head.pt", folder / "reference.onnx")
    return native, dark, both, all_three, shaped, reference


def test_bright_field_stays_bit_for_bit(models):
    native, _, both, all_three, shaped, _ = models
    image = np.random.default_rng(1).random((96, 160)).astype(np.float32)
    before = predict_maps(load_model(native), image, shapes=True)
    for model in (both, all_three, shaped):
        after = predict_maps(load_model(model), image, shapes=True)
        for name in ("probability", "objects", "rays"):
            np.testing.assert_array_equal(before[name], after[name])
    assert load_model(both).dark_decoder and not load_model(native).dark_decoder


def test_dark_field_takes_the_dark_decoders_map(models):
    native, dark, both, all_three, _, _ = models
    image = np.random.default_rng(2).random((96, 160)).astype(np.float32)
    expected = predict_maps(load_model(dark), image)["probability"]
    native_maps = predict_maps(load_model(native), image, shapes=True)
    for model in (both, all_three):
        maps = predict_maps(load_model(model), image, shapes=True, mode=DARK_SWITCH)
        np.testing.assert_allclose(maps["probability"], expected, atol=1e-5)
    maps = predict_maps(load_model(both), image, shapes=True, mode=DARK_SWITCH)
    np.testing.assert_array_equal(maps["rays"], native_maps["rays"])  # no head of its own: the native
    assert not np.allclose(expected, native_maps["probability"], atol=1e-3)
    # a model without one reads dark-field images with its only decoder
    plain = predict_maps(load_model(native), image, mode=DARK_SWITCH)["probability"]
    np.testing.assert_array_equal(plain, native_maps["probability"])
    assert load_model(both).info["dark_decoder"]["preset"] == "training-dark"


def test_a_shape_head_on_the_dark_features_switches_the_outlines_too(models):
    native, _, _, all_three, shaped, reference = models
    image = np.random.default_rng(3).random((96, 160)).astype(np.float32)
    expected = predict_maps(load_model(reference), image, shapes=True)
    for model in (shaped, all_three):  # a fine head beside it changes nothing in dark field
        maps = predict_maps(load_model(model), image, shapes=True, mode=DARK_SWITCH)
        np.testing.assert_allclose(maps["probability"], expected["probability"], atol=1e-5)
        np.testing.assert_allclose(maps["objects"], expected["objects"], atol=1e-5)
        np.testing.assert_allclose(maps["rays"], expected["rays"], atol=1e-3)
    assert not np.allclose(maps["rays"], predict_maps(load_model(native), image, shapes=True)["rays"])
    assert load_model(shaped).info["dark_decoder"]["outputs"] == ["probability", "objects", "rays"]


def test_a_model_gets_one_dark_decoder(models, tmp_path):
    _, dark, both, _, _, _ = models
    with pytest.raises(ValueError, match="already has a dark-field decoder"):
        attach_mode_decoder(both, dark, tmp_path / "twice.onnx")
    with pytest.raises(ValueError, match="no shape branch"):
        attach_mode_decoder(dark, dark, tmp_path / "none.onnx")
    with pytest.raises(ValueError, match="unknown imaging mode"):
        attach_mode_decoder(both, dark, tmp_path / "x.onnx", mode="cryo")


def test_a_phase_decoder_beside_the_dark_one_answers_its_own_switch(models, tmp_path):
    """Both modes in one file: each switch gives its own decoder's map, off gives the native."""
    native, dark, both, _, _, _ = models
    net_phase = tmp_path / "phase.onnx"
    import shutil

    shutil.copy(dark, net_phase)  # the same decoder serves as the phase one: the switches differ
    two = attach_mode_decoder(both, net_phase, tmp_path / "two.onnx", mode=PHASE_SWITCH)
    image = np.random.default_rng(4).random((96, 160)).astype(np.float32)
    expected = predict_maps(load_model(dark), image)["probability"]
    native_maps = predict_maps(load_model(native), image, shapes=True)
    model = load_model(two)
    assert model.phase_decoder and model.dark_decoder and not load_model(both).phase_decoder
    for mode in (DARK_SWITCH, PHASE_SWITCH):
        maps = predict_maps(model, image, shapes=True, mode=mode)
        np.testing.assert_allclose(maps["probability"], expected, atol=1e-5)
    off = predict_maps(model, image, shapes=True)
    for name in ("probability", "objects", "rays"):
        np.testing.assert_array_equal(off[name], native_maps[name])
    assert model.info["phase_decoder"]["switch"] == PHASE_SWITCH
    with pytest.raises(ValueError, match="already has a phase-contrast decoder"):
        attach_mode_decoder(two, net_phase, tmp_path / "again.onnx", mode=PHASE_SWITCH)


def test_a_modes_decoder_reads_back_and_a_retrained_one_takes_its_place(models, tmp_path):
    """A mode's decoder and head read back from a finished file are the ones put in (a start for
    training it further); written back with ``replace`` the file is the same, bit for bit, and
    another decoder in its place changes that mode only."""
    from nanosizer.train.export import export_onnx
    from nanosizer.train.from_onnx import branch_state_from_onnx, state_from_onnx

    native, dark, both, _, shaped, _ = models
    read = state_from_onnx(shaped, mode=DARK_SWITCH)
    put_in = state_from_onnx(dark)
    assert read.keys() == put_in.keys()
    for name in read:
        np.testing.assert_array_equal(read[name].numpy(), put_in[name].numpy(), err_msg=name)
    recipe = {"decoder_channels": 16, "preset": "training-dark"}
    torch.save({"recipe": recipe, "model": read, "step": 7, "best_iou": 0.5}, tmp_path / "read.pt")
    torch.save({"branch": branch_state_from_onnx(shaped, DARK_SWITCH)}, tmp_path / "head.pt")
    segmenter = export_onnx(tmp_path / "read.pt", tmp_path / "read.onnx")
    again = attach_mode_decoder(
        shaped, segmenter, tmp_path / "again.onnx", tmp_path / "head.pt", replace=True
    )
    image = np.random.default_rng(6).random((96, 160)).astype(np.float32)
    for mode in (None, DARK_SWITCH):
        before = predict_maps(load_model(shaped), image, shapes=True, mode=mode)
        after = predict_maps(load_model(again), image, shapes=True, mode=mode)
        for name in ("probability", "objects", "rays"):
            np.testing.assert_array_equal(before[name], after[name])
    other = attach_mode_decoder(shaped, native, tmp_path / "other.onnx", tmp_path / "head.pt", replace=True)
    off = predict_maps(load_model(other), image, shapes=True)
    np.testing.assert_array_equal(off["probability"], predict_maps(load_model(shaped), image)["probability"])
    on = predict_maps(load_model(other), image, mode=DARK_SWITCH)["probability"]
    np.testing.assert_allclose(on, off["probability"], atol=1e-5)  # the native decoder behind the switch
    with pytest.raises(ValueError, match="nothing to replace, it lacks a phase-contrast decoder"):
        attach_mode_decoder(both, dark, tmp_path / "x.onnx", mode=PHASE_SWITCH, replace=True)


def test_a_decoder_grafts_onto_an_encoder_with_a_polarity_plane(tmp_path):
    """A mode's decoder trained on a frozen two-channel encoder (the polarity plane) grafts as on
    a one-channel one: switched on, the file gives that decoder's map with the plane fed;
    switched off, the native map bit for bit."""
    from nanosizer.segment.network import predict_probability
    from nanosizer.train.export import export_onnx
    from nanosizer.train.model import DeepLabV3Plus, widened_input

    torch.manual_seed(0)
    net = DeepLabV3Plus(decoder_channels=16).eval()
    state = widened_input(net.state_dict(), 2)
    state["encoder.stem.0.0.weight"][:, 1] = 0.05 * torch.randn_like(state["encoder.stem.0.0.weight"][:, 1])
    recipe = {"decoder_channels": 16, "in_channels": 2}
    torch.save({"recipe": recipe, "model": state, "step": 0, "best_iou": 0.0}, tmp_path / "native.pt")
    other = dict(state)  # another decoder (weights, not batch-norm statistics) on the same encoder
    for k, v in state.items():
        if not k.startswith("encoder.") and v.is_floating_point() and "running_" not in k:
            other[k] = v + 0.3 * torch.randn_like(v)
    torch.save({"recipe": recipe, "model": other, "step": 0, "best_iou": 0.0}, tmp_path / "dark.pt")
    native = export_onnx(tmp_path / "native.pt", tmp_path / "native.onnx")
    dark = export_onnx(tmp_path / "dark.pt", tmp_path / "dark.onnx")
    train_head(native, tmp_path / "head", scenes=2, steps=2, batch=2, size=128, val_scenes=1)
    shaped = export_shape_model(native, tmp_path / "head" / "head.pt", tmp_path / "shaped.onnx")
    both = load_model(attach_mode_decoder(shaped, dark, tmp_path / "both.onnx"))
    assert both.channels == 2
    image = np.random.default_rng(7).random((96, 128)).astype(np.float32)
    on = predict_probability(both, image, mode=DARK_SWITCH)
    np.testing.assert_allclose(on, predict_probability(load_model(dark), image, mode=DARK_SWITCH), atol=1e-5)
    assert not np.allclose(on, predict_probability(load_model(native), image, mode=DARK_SWITCH), atol=1e-3)
    off = predict_probability(both, image)
    np.testing.assert_array_equal(off, predict_probability(load_model(shaped), image))
