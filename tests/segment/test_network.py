"""The shipped network through onnxruntime: accuracy on bundled images, tiling, inputs, errors."""

import dataclasses

import numpy as np
import pytest
import tifffile
from typer.testing import CliRunner

from nanosizer.cli import app
from nanosizer.data import DATA_DIR
from nanosizer.errors import NanosizerError
from nanosizer.segment import segment
from nanosizer.segment.network import (
    blend_weight,
    default_model_path,
    load_model,
    network_input,
    predict_maps,
    predict_probability,
    tile_layout,
)
from nanosizer.settings import Settings

EXAMPLES = DATA_DIR / "examples"
# The shipped model on the bundled examples: 0.929 / 0.987 / 0.938 (overlap-low, pt-cubes,
# ultrasmall-au; int8 with 7-bit weights, the same with and without onnxruntime's fused kernels,
# on CPUs with and without VNNI; measured 2026-12-02).
MIN_EXAMPLE_IOU = 0.91


def _example(name):
    image = tifffile.imread(EXAMPLES / f"example_{name}.tif")
    truth = tifffile.imread(EXAMPLES / "truth" / f"example_{name}_mask.tif") > 0
    return image, truth


def segment_network(image, particles="dark", zoom=1.0):
    """The network's binary map as the pipeline makes it, every region kept (no confidence cut)."""
    return segment(image, 1.0, Settings(particles=particles, network_zoom=zoom, min_confidence=0))


def _iou(a, b):
    return (a & b).sum() / max((a | b).sum(), 1)


def test_the_model_ships_and_describes_itself():
    path = default_model_path()
    assert path.is_file() and path.stat().st_size < 50 * 2**20
    model = load_model()
    assert len(model.sha256) == 64
    assert model.info["recipe"]["tile"] == 256 and 0 < model.info["val_iou"] <= 1


def test_the_fine_head_answers_only_when_asked():
    """The shipped file's second shape head (rafts of small particles seen enlarged, for the
    fine pass): asked for, it changes the outlines and nothing else; not asked for, the native
    head answers (nanosizer.train.fine_head)."""
    model = load_model()
    assert model.fine_head and model.info["fine_head"]["zooms"] == [3, 5]
    data = network_input(_example("overlap-low")[0])[:256, :256]
    native = predict_maps(model, data, shapes=True)
    fine = predict_maps(model, data, shapes=True, fine=True)
    np.testing.assert_array_equal(native["probability"], fine["probability"])
    assert not np.allclose(native["rays"], fine["rays"], atol=1.0)
    np.testing.assert_array_equal(native["rays"], predict_maps(model, data, shapes=True)["rays"])


@pytest.mark.parametrize("name", ["overlap-low", "pt-cubes", "ultrasmall-au"])
def test_bundled_examples_are_segmented(name):
    image, truth = _example(name)
    assert _iou(segment_network(image), truth) >= MIN_EXAMPLE_IOU


def test_tiles_cover_the_image():
    for length in (16, 255, 512, 513, 1000, 2048, 4099):
        size, starts = tile_layout(length, 256, 64)
        assert size % 16 == 0 and size <= max(256, length + 15)
        assert starts[0] == 0 and starts[-1] + size >= length
        assert all(b - a <= size - 64 for a, b in zip(starts, starts[1:], strict=False))
    assert tile_layout(2048, 1024, 64) == (736, [0, 656, 1312])
    w = blend_weight(64, 96, 16)
    assert w.shape == (64, 96) and w.min() > 0 and w.max() == 1.0


class _RecordingSession:
    """An onnxruntime session that notes the run options of every run."""

    def __init__(self, session):
        self.session, self.options = session, []

    def __getattr__(self, name):
        return getattr(self.session, name)

    def run(self, names, feed, options=None):
        self.options.append(options)
        return self.session.run(names, feed, options)


@pytest.mark.parametrize("length", [256, 700])
def test_the_arena_is_handed_back_after_an_image_not_between_its_tiles(length):
    """onnxruntime keeps the memory its arena grew to for the network's activations unless a
    run asks for it back: the last run of an image does (so separation and measurement do not
    stack on top of it), the tiles before it do not (each would allocate again)."""
    model = load_model()
    recorder = _RecordingSession(model.session)
    watched = dataclasses.replace(model, session=recorder)
    data = network_input(_example("overlap-low")[0])[:length, :length]
    np.testing.assert_array_equal(
        predict_probability(watched, data, tile=256), predict_probability(model, data, tile=256)
    )
    *tiles, last = recorder.options
    assert len(tiles) == (0 if length == 256 else 2)  # 700²: 9 tiles of 256², 4 per batch
    assert all(options is None for options in tiles)
    assert last.get_run_config_entry("memory.enable_memory_arena_shrinkage") == "cpu:0"


def test_tiled_prediction_matches_the_whole_image_pass():
    image, _ = _example("overlap-low")
    data = network_input(image)
    model = load_model()
    whole = predict_probability(model, data, tile=512)
    tiled = predict_probability(model, data, tile=256, overlap=64)
    assert np.abs(whole - tiled).mean() < 0.02
    assert ((whole > 0.5) == (tiled > 0.5)).mean() > 0.99


@pytest.mark.parametrize("name", ["overlap-low", "pt-cubes", "ultrasmall-au"])
def test_fused_kernels_compute_what_the_quantised_graph_defines(name):
    """onnxruntime's fused integer kernels (which differ between CPUs) against the same model
    computed unfused, in float: the thresholded maps and their accuracy must not move."""
    image, truth = _example(name)
    data = network_input(image)
    fast = predict_probability(load_model(), data) > 0.5
    exact = predict_probability(load_model(reference=True), data) > 0.5
    assert not load_model().reference and load_model(reference=True).reference
    assert (fast == exact).mean() >= 0.998
    assert abs(_iou(fast, truth) - _iou(exact, truth)) <= 0.005


def test_bit_depth_and_polarity_do_not_change_the_result():
    """Normalisation makes 8-bit, 16-bit, float and inverted inputs the same network input
    (judged with the reference computation, so no CPU's integer kernels are in the check)."""
    model = load_model(reference=True)

    def found(image, particles="dark"):
        return predict_probability(model, network_input(image, particles)) > 0.5

    image, _ = _example("pt-cubes")
    reference = found(image)
    as_float = image.astype(np.float32) / 255 * 3.7 + 12.0
    as_uint16 = image.astype(np.uint16) * 257
    for other in (found(as_float), found(as_uint16)):
        assert (other == reference).mean() > 0.999
    inverted = found(image.max() - image.astype(np.int32), particles="bright")
    assert (inverted == reference).mean() > 0.999


def test_missing_or_broken_model_is_a_clear_error(tmp_path):
    with pytest.raises(NanosizerError, match="model file not found"):
        load_model(tmp_path / "nope.onnx")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"\x00garbage")
    with pytest.raises(NanosizerError, match="not a loadable ONNX model") as err:
        load_model(broken)
    assert str(broken) in str(err.value)
    image = EXAMPLES / "example_pt-cubes.tif"
    result = CliRunner().invoke(
        app, ["analyze", str(image), "-o", str(tmp_path / "o"), "--model", str(broken)]
    )
    assert result.exit_code == 2 and "broken.onnx" in result.output


def test_zoom_resamples_back_to_the_image_grid():
    image, truth = _example("overlap-low")
    zoomed = segment_network(image, zoom=0.75)
    assert zoomed.shape == image.shape and _iou(zoomed, truth) > 0.75


def test_typical_particle_size_ignores_agglomeration():
    from helpers import disc_mask

    from nanosizer.segment.network import auto_zoom, typical_particle_px

    mask = np.zeros((512, 512), bool)
    for centre in [(100, 100), (100, 136), (100, 172), (300, 300), (400, 100), (420, 420)]:
        mask |= disc_mask(mask.shape, centre, 20)  # three of them touch in a chain
    image = np.where(mask, 0.2, 0.8).astype(np.float32)
    assert typical_particle_px(image) == pytest.approx(40, abs=4)
    assert auto_zoom(image, target_px=40) == 1.0
    assert auto_zoom(image, target_px=10) == pytest.approx(0.25)
    assert typical_particle_px(np.full((64, 64), 0.5, np.float32)) is None


def test_the_coarse_pass_is_planned_from_the_particle_map_not_the_image():
    from helpers import disc_mask

    from nanosizer.regions import regions_from_mask
    from nanosizer.segment.network import TARGET_PARTICLE_PX, coarse_windows
    from nanosizer.segment.shapes import wide_regions

    def planned(particles):
        regions = regions_from_mask(particles)
        wide = wide_regions(dict(enumerate(regions)))
        return coarse_windows([(regions[k], width) for k, width in wide.items()], particles.shape)

    shape = (600, 600)
    small = np.zeros(shape, bool)
    for row in range(40, 560, 80):
        for col in range(40, 560, 80):
            small |= disc_mask(shape, (row, col), 25)  # 50 px particles: the head knows them
    assert planned(small) == (1.0, [])
    large = small.copy()
    large[150:450, 150:450] = disc_mask((300, 300), (150, 150), 140)  # one 280-px particle
    zoom, windows = planned(large)
    assert zoom == pytest.approx(max(TARGET_PARTICLE_PX / 280, 0.25), abs=0.01)
    assert windows == [(0, 0, 600, 600)]  # 256 px of network input at 0.25: the whole image
    field = np.zeros((2000, 2000), bool)
    field[1000:1100, 300:400] = True  # one 100-px square: 256 px of input at 0.4, 640 px around it
    assert planned(field) == (0.4, [(730, 30, 1370, 670)])
    holey = large.copy()
    holey[280:320, 280:320] = False  # a hole does not make it narrower
    assert planned(holey) == (zoom, windows)
