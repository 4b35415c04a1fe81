"""Weights read back from an exported ONNX model reproduce it, and a later stage trains from them."""

import json
from dataclasses import asdict

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from nanosizer.train.export import export_onnx  # noqa: E402
from nanosizer.train.from_onnx import module_path, onnx_conv_weights, state_from_onnx  # noqa: E402
from nanosizer.train.loop import Recipe, train  # noqa: E402
from nanosizer.train.model import DeepLabV3Plus  # noqa: E402


def _exported(tmp_path, decoder_channels=16):
    """A small network with non-trivial batch-norm statistics, saved and exported to ONNX."""
    torch.manual_seed(0)
    model = DeepLabV3Plus(decoder_channels)
    gen = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(0.1 * torch.randn(n, generator=gen))
            m.running_var.copy_(0.5 + torch.rand(n, generator=gen))
            m.weight.data.copy_(0.5 + torch.rand(n, generator=gen))
            m.bias.data.copy_(0.1 * torch.randn(n, generator=gen))
    model.eval()
    recipe = Recipe(decoder_channels=decoder_channels)
    state = {"model": model.state_dict(), "step": 0, "best_iou": 0.0, "recipe": asdict(recipe)}
    torch.save(state, tmp_path / "ref.pt")
    return model, export_onnx(tmp_path / "ref.pt", tmp_path / "ref.onnx")


def _stage(**changes) -> Recipe:
    """A two-step training stage on four tiny scenes, for the 16-channel network of :func:`_exported`."""
    tiny = dict(steps=2, batch=2, tile=64, pool_size=4, val_size=2, scene_size=128, val_every=2)
    return Recipe(**{**tiny, "decoder_channels": 16, "warmup": 1, **changes})


def test_module_path_follows_the_exporters_node_names():
    assert module_path("/encoder/stem/stem.0/stem.0.0/Conv") == "encoder.stem.0.0"
    assert module_path("/encoder/layer4/layer4.0/shortcut/shortcut.0/Conv") == "encoder.layer4.0.shortcut.0"
    assert module_path("/aspp/branches.3/branches.3.1/Conv") == "aspp.branches.3.1"
    assert module_path("/head/Conv") == "head"


def test_weights_read_back_reproduce_the_exported_network(tmp_path):
    reference, path = _exported(tmp_path)
    model = DeepLabV3Plus(16)
    model.load_state_dict(state_from_onnx(path, 16))
    model.eval()
    x = torch.rand(2, 1, 64, 96, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected, got = reference.logits(x), model.logits(x)
    assert torch.allclose(got, expected, atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match="ref.onnx"):
        state_from_onnx(path, 128)  # another decoder width: shapes differ, and the error says where


def test_int8_weights_are_dequantised_to_within_half_a_step(tmp_path):
    from nanosizer.train.quantize import quantize_onnx

    _, path = _exported(tmp_path)
    small = quantize_onnx(path, tmp_path / "int8.onnx", n_calibration=1)
    exact, approx = onnx_conv_weights(path), onnx_conv_weights(small)
    assert set(exact) == set(approx) and len(exact) == 35
    for name, (weight, _) in exact.items():
        step = np.abs(weight).reshape(len(weight), -1).max(axis=1) / 63  # per output channel, 7-bit
        err = np.abs(approx[name][0] - weight).reshape(len(weight), -1).max(axis=1)
        assert (err <= 0.51 * step + 1e-7).all(), name


def test_a_stage_started_from_onnx_keeps_its_batch_norms_fixed(tmp_path):
    _, path = _exported(tmp_path)
    train(tmp_path / "stage", _stage(init=str(path), lr=1e-3), progress=False, workers=1)
    state = torch.load(tmp_path / "stage" / "last.pt", weights_only=False)
    assert state["recipe"]["frozen_bn"] is True
    start = state_from_onnx(path, 16)
    trained = state["model"]
    # fixed batch norms: statistics untouched by training and by recalibration...
    for stat in ("running_var", "running_mean"):
        key = f"encoder.layer1.0.bn1.{stat}"
        assert torch.equal(trained[key], start[key])
    # ...while the weights did move
    assert not torch.equal(trained["encoder.layer1.0.conv1.weight"], start["encoder.layer1.0.conv1.weight"])
    log = [json.loads(line) for line in (tmp_path / "stage" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [2]


def test_train_names_a_bad_init_file_and_knows_the_shipped_model(tmp_path):
    from typer.testing import CliRunner

    from nanosizer.cli import app
    from nanosizer.cli_train import _initial_weights
    from nanosizer.segment.network import default_model_path

    assert _initial_weights("shipped") == str(default_model_path())
    runner = CliRunner()
    result = runner.invoke(app, ["train", str(tmp_path / "run"), "--init", str(tmp_path / "none.pt")])
    assert result.exit_code == 2 and "none.pt" in result.output
    for name in ("broken.onnx", "broken.pt"):
        (tmp_path / name).write_bytes(b"\x00garbage")
        result = runner.invoke(app, ["train", str(tmp_path / "run"), "--init", str(tmp_path / name)])
        assert result.exit_code == 2 and name in result.output, result.output
        assert "Traceback" not in result.output


def test_fine_tuning_on_own_data_only_takes_the_width_from_the_model(tmp_path):
    import tifffile

    _, path = _exported(tmp_path)
    data = tmp_path / "mine"
    (data / "images").mkdir(parents=True)
    (data / "masks").mkdir()
    image = np.full((128, 128), 180, np.uint8)
    image[40:80, 30:70] = 40
    tifffile.imwrite(data / "images" / "a.tif", image)
    tifffile.imwrite(data / "masks" / "a_mask.tif", (image < 100).astype(np.uint8))
    recipe = Recipe(
        steps=2, batch=2, tile=64, pool_size=0, val_size=2, scene_size=128, val_every=2, init=str(path)
    )
    train(tmp_path / "ft", recipe, data=data, progress=False, workers=1)
    saved = torch.load(tmp_path / "ft" / "last.pt", weights_only=False)["recipe"]
    assert saved["decoder_channels"] == 16 and saved["frozen_bn"] is True  # not the default 128
    with pytest.raises(ValueError, match="--data"):
        train(tmp_path / "none", recipe, progress=False, workers=1)


def test_distillation_covers_only_tiles_the_starting_model_already_gets_right():
    from nanosizer.train.loop import distillation_loss

    target = torch.zeros(3, 1, 8, 8)
    target[:2, :, 2:6, 2:6] = 1
    teacher = torch.zeros(3, 1, 8, 8)
    teacher[0, :, 2:6, 2:6] = 0.9  # right on tile 0
    teacher[1, :, 0:2, 0:2] = 0.9  # wrong on tile 1; tile 2 empty and empty: right
    logits = torch.zeros(3, 1, 8, 8, requires_grad=True)
    loss, share = distillation_loss(logits, target, teacher, 0.8)
    assert share.item() == pytest.approx(2 / 3)
    loss.backward()
    assert logits.grad[1].abs().sum() == 0  # nothing pulls towards the wrong tile's teacher
    assert logits.grad[0].abs().sum() > 0 and logits.grad[2].abs().sum() > 0


def test_a_distilled_stage_needs_a_starting_model_and_trains_with_one(tmp_path):
    _, path = _exported(tmp_path)
    recipe = _stage(distill=1.0)
    with pytest.raises(ValueError, match="--init"):
        train(tmp_path / "none", recipe, progress=False, workers=1)
    recipe = Recipe(**{**asdict(recipe), "init": str(path)})
    train(tmp_path / "kept", recipe, progress=False, workers=1)
    state = torch.load(tmp_path / "kept" / "last.pt", weights_only=False)
    assert state["recipe"]["distill"] == 1.0 and state["step"] == 2


def test_a_frozen_encoder_keeps_its_weights_while_the_decoder_learns(tmp_path):
    _, path = _exported(tmp_path)
    recipe = _stage(init=str(path), freeze_encoder=True, lr=1e-2)
    with pytest.raises(ValueError, match="freeze-encoder"):
        train(tmp_path / "both", _stage(init=str(path), freeze_encoder=True, in_channels=2), progress=False)
    train(tmp_path / "decoder", recipe, progress=False, workers=1)
    trained = torch.load(tmp_path / "decoder" / "last.pt", weights_only=False)["model"]
    start = state_from_onnx(path, 16)
    encoder = [k for k in start if k.startswith("encoder.")]
    assert encoder and all(torch.equal(trained[k], start[k]) for k in encoder)
    assert not torch.equal(trained["decoder.0.1.weight"], start["decoder.0.1.weight"])


def test_a_polarity_plane_starts_as_the_one_channel_network_and_learns_to_use_it(tmp_path):
    from nanosizer.segment.network import DARK_SWITCH, load_model, predict_probability
    from nanosizer.train.model import polarity_plane, widened_input

    reference, path = _exported(tmp_path)
    wide = DeepLabV3Plus(16, in_channels=2)
    wide.load_state_dict(widened_input(reference.state_dict(), 2))
    wide.eval()
    x = torch.rand(2, 1, 64, 64, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        expected = reference.logits(x)
        for flag in (0, 1):  # the new channel's weights are zero: the same network either way
            assert torch.allclose(wide.logits(polarity_plane(x, flag)), expected, atol=1e-5)
    recipe = _stage(init=str(path), in_channels=2, lr=1e-2, preset="catalyst-haadf")  # plane 1: a gradient
    train(tmp_path / "plane", recipe, progress=False, workers=1)
    exported = export_onnx(tmp_path / "plane" / "last.pt", tmp_path / "plane.onnx")
    state = state_from_onnx(exported)
    assert state["encoder.stem.0.0.weight"].shape[1] == 2
    assert state["encoder.stem.0.0.weight"][:, 1].abs().sum() > 0  # the plane's weights were trained
    model = load_model(exported)
    assert model.channels == 2 and load_model(path).channels == 1
    image = np.random.default_rng(4).random((96, 96)).astype(np.float32)
    bright, dark = (predict_probability(model, image, mode=mode) for mode in (None, DARK_SWITCH))
    assert bright.shape == image.shape and not np.allclose(bright, dark)
    # a mode's decoder on that encoder, frozen: the file's plane stays, its encoder unchanged
    train(tmp_path / "decoder", _stage(init=str(exported), freeze_encoder=True), progress=False, workers=1)
    decoder = torch.load(tmp_path / "decoder" / "last.pt", weights_only=False)
    assert decoder["recipe"]["in_channels"] == 2
    encoder = [k for k in state if k.startswith("encoder.")]
    assert all(torch.equal(decoder["model"][k], state[k]) for k in encoder)


def test_a_two_channel_model_quantises_with_both_polarities_calibrated(tmp_path):
    from nanosizer.train.model import widened_input
    from nanosizer.train.quantize import calibration_images, quantize_onnx

    reference, _ = _exported(tmp_path)
    recipe = Recipe(decoder_channels=16, in_channels=2)
    state = {"model": widened_input(reference.state_dict(), 2), "step": 0, "best_iou": 0.0}
    state["recipe"] = asdict(recipe)
    torch.save(state, tmp_path / "wide.pt")
    wide = export_onnx(tmp_path / "wide.pt", tmp_path / "wide.onnx")
    planes = [x[0, 1, 0, 0] for x in calibration_images(2, size=64, channels=2)]
    assert planes == [0.0, 1.0]
    small = quantize_onnx(wide, tmp_path / "wide_int8.onnx", n_calibration=2)
    assert state_from_onnx(small)["encoder.stem.0.0.weight"].shape[1] == 2


def test_a_dark_field_decoder_is_validated_on_dark_field_scenes(tmp_path):
    import numpy as np

    _, path = _exported(tmp_path)
    recipe = _stage(init=str(path), freeze_encoder=True, preset="training-dark", val_preset="training-dark")
    train(tmp_path / "dark", recipe, progress=False, workers=1)
    pools = sorted((tmp_path / "dark" / "cache").glob("pool-*.npz"))
    assert len(pools) == 2  # the training pool and the validation scenes, both dark field
    assert all(np.load(pool)["dark"].all() for pool in pools)
    plain = _stage(init=str(path), freeze_encoder=True, preset="training-dark")
    train(tmp_path / "plain", plain, progress=False, workers=1)
    flags = [np.load(pool)["dark"] for pool in (tmp_path / "plain" / "cache").glob("pool-*.npz")]
    assert sorted(bool(f.all()) for f in flags) == [False, True]  # validated on 'training' by default


def test_a_model_without_a_modes_decoder_says_so(tiny_segmenter):
    with pytest.raises(ValueError, match=r"seg\.onnx: no decoder for the imaging mode 'phase_contrast'"):
        state_from_onnx(tiny_segmenter, mode="phase_contrast")
