"""Training end to end on tiny scenes: batches, a few steps, export, inference with onnxruntime."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from nanosizer.segment import segment  # noqa: E402
from nanosizer.segment.network import load_model, predict_probability  # noqa: E402
from nanosizer.settings import Settings  # noqa: E402
from nanosizer.train.data import augmented_batch, synthetic_pool  # noqa: E402
from nanosizer.train.export import export_onnx  # noqa: E402
from nanosizer.train.loop import Recipe, learning_rate, train  # noqa: E402
from nanosizer.train.model import DeepLabV3Plus  # noqa: E402


@pytest.fixture(scope="module")
def pool():
    return synthetic_pool(4, seed=5, size=128, workers=1)


def test_pool_is_seeded_and_masks_match_dark_pixels(pool):
    again = synthetic_pool(4, seed=5, size=128, workers=1)
    np.testing.assert_array_equal(pool.images, again.images)
    for image, mask in zip(pool.images, pool.masks, strict=True):
        if 0 < mask.sum() < mask.size:
            assert image[mask].mean() < image[~mask].mean()


def test_augmented_batches_are_deterministic_and_binary(pool):
    x1, y1 = augmented_batch(pool, np.random.default_rng(3), 4, 64)
    x2, y2 = augmented_batch(pool, np.random.default_rng(3), 4, 64)
    assert x1.shape == y1.shape == (4, 1, 64, 64)
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert set(torch.unique(y1).tolist()) <= {0.0, 1.0}
    assert 0.0 <= float(x1.min()) and float(x1.max()) <= 1.0


def test_network_keeps_the_input_size():
    model = DeepLabV3Plus(decoder_channels=16).eval()
    with torch.no_grad():
        out = model(torch.rand(2, 1, 80, 112))
    assert out.shape == (2, 1, 80, 112)
    assert float(out.min()) >= 0 and float(out.max()) <= 1


def test_learning_rate_warms_up_then_steps_down():
    recipe = Recipe(steps=100, warmup=10, lr=1e-3, lr_steps=(0.5, 0.8))
    assert learning_rate(recipe, 0) == pytest.approx(1e-4)
    assert learning_rate(recipe, 20) == pytest.approx(1e-3)
    assert learning_rate(recipe, 60) == pytest.approx(3e-4)
    assert learning_rate(recipe, 90) == pytest.approx(9e-5)


def test_tiny_run_trains_resumes_and_exports(tmp_path):
    recipe = Recipe(
        steps=4, batch=2, tile=64, pool_size=4, val_size=2, scene_size=128, val_every=2, decoder_channels=16
    )
    best = train(tmp_path / "run", Recipe(**{**recipe.__dict__, "steps": 2}), progress=False)
    assert 0.0 <= best <= 1.0
    train(tmp_path / "run", recipe, progress=False)  # resumes from step 2
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [2, 4]
    path = export_onnx(tmp_path / "run" / "best.pt", tmp_path / "tiny.onnx")
    model = load_model(path)
    assert model.info["recipe"]["decoder_channels"] == 16
    prob = predict_probability(model, np.random.default_rng(0).random((100, 140)).astype(np.float32), tile=64)
    assert prob.shape == (100, 140)
    assert np.isfinite(prob).all()
    # int8 quantisation keeps the metadata and (nearly) the probabilities
    from nanosizer.train.quantize import quantize_onnx

    small = load_model(quantize_onnx(path, tmp_path / "tiny_int8.onnx", n_calibration=2))
    assert small.info["recipe"]["decoder_channels"] == 16 and "quantized" in small.info
    assert small.path.stat().st_size < 0.6 * path.stat().st_size
    assert small.info["quantized"]["reduce_range"] is True  # 7-bit weights: the same on every CPU
    # (a 4-step network has little margin to lose, so the check is agreement, not exactness;
    # the quantised graph is computed as defined, not by one CPU's fused integer kernels)
    image = np.random.default_rng(1).random((96, 96)).astype(np.float32)
    exact = predict_probability(model, image, tile=64)
    quantized = predict_probability(load_model(small.path, reference=True), image, tile=64)
    assert np.abs(quantized - exact).mean() < 0.1
    assert np.corrcoef(quantized.ravel(), exact.ravel())[0, 1] > 0.8
    # a model quantised the old way (full 8-bit weights) still works, computed as its graph
    # defines, so that its result does not depend on the CPU; the summary notes it
    legacy = quantize_onnx(path, tmp_path / "legacy_int8.onnx", n_calibration=2, reduce_range=False)
    assert load_model(legacy).reference and not load_model(small.path).reference
    notes = []
    segment(image, 1.0, Settings(model=str(legacy), min_confidence=0), notes)
    assert any("full 8-bit weights" in note for note in notes)


def test_own_labelled_data_joins_the_pool(tmp_path):
    import tifffile

    from nanosizer.train.data import folder_pool

    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    image = np.full((200, 300), 180, np.uint8)
    image[50:90, 60:120] = 40
    tifffile.imwrite(tmp_path / "images" / "mine.tif", image)
    tifffile.imwrite(tmp_path / "masks" / "mine_mask.tif", (image < 100).astype(np.uint8))
    pool = folder_pool(tmp_path, size=128)
    assert pool.images.shape[1:] == (128, 128) and len(pool) == 4  # 2 x 3 squares, reflect-padded
    assert pool.masks[0][50:90, 60:120].all() and pool.images[0][60, 70] < 50
    (tmp_path / "images" / "orphan.tif").write_bytes(b"")
    with pytest.raises(ValueError, match="orphan.tif: no reference mask"):
        folder_pool(tmp_path, size=128)


def test_streaming_pool_fills_in_seed_order_like_the_cached_pool(pool):
    from nanosizer.train.data import StreamingPool

    streaming = StreamingPool(4, seed=5, size=128, preset="training", workers=2, device="cpu")
    try:
        streaming.fill(2)
        assert len(streaming) == 2
        np.testing.assert_array_equal(streaming.images[:2].numpy(), pool.images[:2])
        streaming.fill(10)  # more than it holds: all of them
        assert len(streaming) == 4
        np.testing.assert_array_equal(streaming.masks.numpy(), pool.masks)
    finally:
        streaming.close()


def test_batches_from_a_tensor_pool_are_deterministic_and_binary(pool):
    from nanosizer.train.data import device_pool

    tensors = device_pool(pool, "cpu")
    x1, y1 = augmented_batch(tensors, np.random.default_rng(4), 3, 64)
    x2, y2 = augmented_batch(tensors, np.random.default_rng(4), 3, 64)
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert set(torch.unique(y1).tolist()) <= {0.0, 1.0}
    # The geometry is the same as from the numpy pool; only the noise is drawn differently.
    _, y_np = augmented_batch(pool, np.random.default_rng(4), 3, 64)
    assert torch.equal(y1, y_np)


def test_pool_target_starts_with_a_tenth_and_is_full_at_pool_fill():
    from nanosizer.train.loop import pool_target

    recipe = Recipe(steps=1000, pool_size=500, pool_fill=0.4)
    targets = [pool_target(recipe, s) for s in range(0, 1000, 10)]
    assert targets[0] == 50 and targets == sorted(targets)
    assert pool_target(recipe, 399) < 500 and pool_target(recipe, 400) == 500 == pool_target(recipe, 999)


def test_max_minutes_saves_and_stops_the_run(tmp_path):
    recipe = Recipe(
        steps=50, batch=2, tile=64, pool_size=4, val_size=2, scene_size=128, val_every=25, decoder_channels=16
    )
    train(tmp_path / "run", recipe, progress=False, max_minutes=0.0, workers=1)
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1]
    assert (tmp_path / "run" / "best.pt").exists()


def test_train_and_quantize_refuse_bad_devices_and_files_clearly(tmp_path):
    from typer.testing import CliRunner

    from nanosizer.cli import app

    runner = CliRunner()
    if not torch.cuda.is_available():
        result = runner.invoke(app, ["train", str(tmp_path / "run"), "--device", "cuda"])
        assert result.exit_code == 2 and "--device cuda" in result.output
    result = runner.invoke(app, ["train", str(tmp_path / "run"), "--device", "tpu"])
    assert result.exit_code == 2 and "no such device" in result.output
    result = runner.invoke(app, ["train", str(tmp_path / "run"), "--cuda-graphs", "--pool", "4"])
    assert result.exit_code == 2 and "need a GPU" in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["train", str(tmp_path / "run"), "--init-mode", "dark_field", "--pool", "4"])
    assert result.exit_code == 2 and "--init M.onnx" in result.output and "Traceback" not in result.output
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"\x00garbage")
    result = runner.invoke(app, ["quantize", str(broken), str(tmp_path / "int8.onnx")])
    assert result.exit_code == 2 and "broken.onnx" in result.output and "quantised" in result.output
    assert not (tmp_path / "int8.onnx").exists()


def test_pools_know_their_dark_field_scenes_and_batches_carry_the_plane():
    from nanosizer.synth.presets import preset_params
    from nanosizer.train.data import device_pool

    pool = synthetic_pool(6, 40, 128, preset="training-v7", workers=1)
    expected = [preset_params("training-v7", np.random.default_rng(40 + k), 128).dark_field for k in range(6)]
    assert pool.dark.tolist() == expected and any(expected)
    for source in (pool, device_pool(pool, "cpu")):
        x, y = augmented_batch(source, np.random.default_rng(1), 8, 64, planes=True)
        assert x.shape == (8, 2, 64, 64) and y.shape == (8, 1, 64, 64)
        plain, _ = augmented_batch(source, np.random.default_rng(1), 8, 64)
        assert torch.equal(x[:, :1], plain)  # the same views, one plane more
        flags = x[:, 1].flatten(1)
        assert (flags.min(dim=1).values == flags.max(dim=1).values).all()  # constant per tile
        assert set(flags[:, 0].tolist()) <= {0.0, 1.0}
