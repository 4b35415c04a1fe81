"""The command line end to end, on small generated images."""

import json

import numpy as np
import pandas as pd
import pytest
import tifffile
from typer.testing import CliRunner

from nanosizer.cli import app
from nanosizer.measure import COLUMNS
from nanosizer.synth import synth, write_synth

runner = CliRunner()


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scene")
    sample = synth("overlap-low", rng=3, size=384)
    sample.params.dtype = "uint16"
    path = write_synth(sample, folder, "scene")
    return path, sample


def test_analyze_writes_every_output(scene, tmp_path):
    path, sample = scene
    out = tmp_path / "out"
    result = runner.invoke(app, ["analyze", str(path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    folder = out / "scene"
    for name in (
        "particles.csv",
        "labels.tif",
        "outlines.geojson",
        "segmentation.png",
        "overlay.png",
        "summary.json",
    ):
        assert (folder / name).is_file(), name
    table = pd.read_csv(folder / "particles.csv")
    assert list(table.columns) == list(COLUMNS)
    labels = tifffile.imread(folder / "labels.tif")
    assert set(np.unique(labels)) - {0} == set(table.particle_id)
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["count"] == len(table) > 10
    assert summary["pixel_size_nm"] == pytest.approx(sample.pixel_size_nm)
    assert "ImageJ" in summary["pixel_size_source"] and summary["nanosizer_version"]
    assert set(summary["timings_s"]) == {"segment_s", "clean_s", "separate_s", "measure_s"}
    run = pd.read_csv(out / "particles.csv")
    assert (run["image"] == "scene").all() and len(run) == len(table)
    summary_csv = pd.read_csv(out / "summary.csv")
    assert summary_csv["image"].tolist() == ["scene", "ALL (combined)"]
    assert set(pd.ExcelFile(out / "results.xlsx").sheet_names) == {
        "particles",
        "summary",
        "statistics",
        "settings",
    }
    # sizes agree with the truth: mean ECD of the interior particles within 10 %
    truth = sample.table[~sample.table.touches_border & ~sample.table.overlaps]
    assert table.equivalent_diameter_nm.mean() == pytest.approx(truth.equivalent_diameter_nm.mean(), rel=0.1)


def test_mask_option_measures_the_given_mask(scene, tmp_path):
    path, sample = scene
    mask_path = path.parent / "truth" / "scene_mask.tif"
    out = tmp_path / "masked"
    result = runner.invoke(
        app, ["analyze", str(path), "--mask", str(mask_path), "-o", str(out), "--separation", "none"]
    )
    assert result.exit_code == 0, result.output
    seg = np.asarray(__import__("PIL.Image", fromlist=["Image"]).open(out / "scene" / "segmentation.png")) > 0
    from nanosizer.segment import clean_mask

    assert np.array_equal(seg, clean_mask(sample.mask, sample.pixel_size_nm))


def test_batch_goes_past_bad_files_and_exits_nonzero(scene, tmp_path):
    path, _ = scene
    bad = tmp_path / "broken.tif"
    bad.write_bytes(b"not a tiff")
    png = tmp_path / "nocal.png"
    from PIL import Image

    Image.fromarray((np.random.default_rng(0).random((32, 32)) * 255).astype(np.uint8)).save(png)
    out = tmp_path / "batch"
    result = runner.invoke(app, ["analyze", str(bad), str(path), str(png), "-o", str(out), "--format", "csv"])
    assert result.exit_code == 1
    assert "broken.tif" in result.output and "nocal.png" in result.output and "Traceback" not in result.output
    failures = pd.read_csv(out / "failures.csv")
    assert len(failures) == 2
    assert (out / "scene" / "particles.csv").is_file() and not (out / "results.xlsx").exists()


def test_refuses_to_overwrite_without_flag(scene, tmp_path):
    path, _ = scene
    out = tmp_path / "again"
    assert runner.invoke(app, ["analyze", str(path), "-o", str(out)]).exit_code == 0
    before = (out / "particles.csv").read_bytes()
    second = runner.invoke(app, ["analyze", str(path), "-o", str(out)])
    assert second.exit_code == 2 and "--overwrite" in second.output
    assert (out / "particles.csv").read_bytes() == before
    assert runner.invoke(app, ["analyze", str(path), "-o", str(out), "--overwrite"]).exit_code == 0


def test_image_without_particles_gives_an_empty_table(tmp_path):
    rng = np.random.default_rng(0)
    flat = (1000 + rng.normal(0, 5, (128, 128))).astype(np.uint16)
    path = tmp_path / "empty.tif"
    tifffile.imwrite(path, flat, imagej=True, resolution=(1, 1), metadata={"unit": "nm"})
    out = tmp_path / "res"
    result = runner.invoke(app, ["analyze", str(path), "-o", str(out), "--separation", "watershed"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "empty" / "particles.csv")
    assert list(table.columns) == list(COLUMNS)


def test_folder_and_glob_inputs(scene, tmp_path):
    path, _ = scene
    out = tmp_path / "globbed"
    result = runner.invoke(app, ["analyze", str(path.parent / "*.tif"), "-o", str(out), "--format", "csv"])
    assert result.exit_code == 0 and (out / "scene").is_dir()
    out2 = tmp_path / "folder"
    assert (
        runner.invoke(app, ["analyze", str(path.parent), "-o", str(out2), "--format", "csv"]).exit_code == 0
    )


def test_demo_and_synth_commands(tmp_path):
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "-o", str(out)])
    assert result.exit_code == 0, result.output
    summary = pd.read_csv(out / "summary.csv")
    # three examples, each its own sample (three materials are not one size distribution):
    # three images, three per-sample rows and the whole run
    assert len(summary) == 7 and summary["sample"].nunique() == 3
    statistics = pd.read_csv(out / "statistics.csv")
    assert statistics["sample"].nunique() == 3
    gen = tmp_path / "gen"
    assert (
        runner.invoke(app, ["synth", str(gen), "--n", "2", "--preset", "pt-cubes", "--size", "128"]).exit_code
        == 0
    )
    assert len(list(gen.glob("*.tif"))) == 2 and len(list((gen / "truth").glob("*_labels.tif"))) == 2


def test_bad_option_values_are_reported(scene, tmp_path):
    path, _ = scene
    result = runner.invoke(app, ["analyze", str(path), "-o", str(tmp_path / "x"), "--separation", "magic"])
    assert result.exit_code == 2 and "separation" in result.output


def test_any_setting_can_be_set_and_is_recorded(scene, tmp_path):
    path, _ = scene
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["analyze", str(path), "-o", str(out), "--segmenter", "threshold", "--format", "csv", "--no-report",
         "--set", "min_marker_px=12", "--set", "remove-border=no", "--set", "separation=watershed"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    settings = json.loads((out / "scene" / "summary.json").read_text())["settings"]
    assert settings["min_marker_px"] == 12 and settings["remove_border"] is False
    assert settings["separation"] == "watershed"  # --set wins over --separation's default


@pytest.mark.parametrize(
    ("assignment", "message"),
    [("min_marker=3", "unknown setting 'min_marker'"), ("max_holes=many", "takes int"),
     ("convexity_threshold=2", "must lie in [0, 1]"), ("remove_border", "NAME=VALUE")],
)  # fmt: skip
def test_bad_settings_are_named(scene, tmp_path, assignment, message):
    path, _ = scene
    result = runner.invoke(app, ["analyze", str(path), "-o", str(tmp_path / "o"), "--set", assignment])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())  # (rich wraps long lines)


def test_settings_command_lists_every_setting_with_its_default():
    from nanosizer.settings import Settings

    result = runner.invoke(app, ["settings"])
    assert result.exit_code == 0
    for field in Settings.__dataclass_fields__.values():
        assert f"{field.name} = {field.default}" in result.output


@pytest.mark.parametrize(
    ("option", "message"),
    [(["--roi", "0,0,x,9"], "roi takes four integers"), (["--network-zoom", "big"], "a number or 'auto'")],
)
def test_options_are_read_as_their_settings(scene, tmp_path, option, message):
    path, _ = scene
    result = runner.invoke(app, ["analyze", str(path), "-o", str(tmp_path / "o"), *option])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


@pytest.mark.parametrize("value", ["0", "1e9", "1e-6", "-2"])
def test_implausible_pixel_size_is_a_usage_error(scene, tmp_path, value):
    path, _ = scene
    result = runner.invoke(app, ["analyze", str(path), "-o", str(tmp_path / "o"), "--pixel-size", value])
    assert result.exit_code == 2 and "pixel size" in result.output
    assert not (tmp_path / "o").exists()


def test_implausible_calibration_is_refused_by_the_api():
    import nanosizer
    from nanosizer.errors import CalibrationError

    with pytest.raises(CalibrationError, match="plausible range"):
        nanosizer.analyze(np.eye(32), pixel_size_nm=1e9)
    wide = nanosizer.analyze(np.eye(32), pixel_size_nm=1e9, max_pixel_size_nm=1e10, segmenter="threshold")
    assert wide.summary["pixel_size_nm"] == 1e9


def test_a_line_per_image_and_a_warning_when_much_is_not_measured(tmp_path):
    from helpers import disc_mask

    image = np.full((160, 160), 200, np.uint8)
    comb = np.zeros(image.shape, bool)
    comb[40:50, 20:140] = True
    for col in range(20, 140, 12):
        comb[50:120, col : col + 4] = True  # a comb: convexity far below 0.5, unseparable
    comb |= disc_mask(image.shape, (140, 80), 8)
    image[comb] = 40
    tifffile.imwrite(tmp_path / "comb.tif", image)
    out = tmp_path / "o"
    args = ["analyze", str(tmp_path / "comb.tif"), "-o", str(out), "--pixel-size", "1"]
    result = runner.invoke(app, [*args, "--segmenter", "threshold"])
    assert result.exit_code == 0, result.output
    assert "WARNING comb: 1 particle(s), 1 region(s) excluded" in result.output  # not a TTY: every line
    assert "writing the run's tables" in result.output
    summary = json.loads((out / "comb" / "summary.json").read_text())
    assert summary["excluded_region_count"] == 1 and summary["unmeasured_area_fraction"] > 0.7


def test_unwritable_output_is_one_line_and_exit_2(scene, tmp_path):
    path, _ = scene
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    manual = tmp_path / "sizes.csv"
    manual.write_text("equivalent_diameter_nm\n10\n11\n12\n")
    for args in (
        ["analyze", str(path), "-o", str(blocker / "out")],
        ["demo", "-o", str(blocker / "demo")],
        ["synth", str(blocker / "synth"), "--n", "1"],
        ["compare", str(manual), str(manual), "-o", str(blocker / "compare")],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, args
        assert "cannot write results here" in result.output and "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1


def test_unreachable_scheduler_is_named_quickly(scene, tmp_path):
    pytest.importorskip("distributed")
    import time

    path, _ = scene
    tic = time.perf_counter()
    result = runner.invoke(
        app,
        ["analyze", str(path), "-o", str(tmp_path / "o"), "--segmenter", "threshold"]
        + ["--scheduler", "tcp://127.0.0.1:9", "--scheduler-timeout", "1"],
    )
    assert result.exit_code == 2 and "tcp://127.0.0.1:9" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) <= 2
    assert time.perf_counter() - tic < 30


def test_evaluate_names_mismatched_shapes_and_reports_no_nan(scene, tmp_path):
    path, _ = scene
    (tmp_path / "masks").mkdir()
    tifffile.imwrite(tmp_path / "masks" / f"{path.stem}.tif", np.zeros((100, 120), np.uint8))
    result = runner.invoke(app, ["evaluate", str(path), str(tmp_path / "masks"), "-o", str(tmp_path / "ev")])
    assert result.exit_code == 1
    assert "100x120 px but the image is 384x384 px" in result.output and "--roi" in result.output
    assert "nan" not in result.output.lower() and "Warning" not in result.output


@pytest.mark.parametrize(
    "command", ["", "analyze", "evaluate", "compare", "demo", "synth", "train", "quantize", "settings"]
)
def test_help_fits_80_columns_without_cutting(command):
    result = runner.invoke(app, [*([command] if command else []), "--help"], terminal_width=80)
    assert result.exit_code == 0
    assert "…" not in result.output
    assert "..." not in result.output.partition("Commands:")[2]  # no command summary cut short
    assert max(len(line) for line in result.output.splitlines()) <= 80
    if not command:
        return
    group = typer_command(command)
    for param in group.params:
        for name in getattr(param, "opts", []) + getattr(param, "secondary_opts", []):
            if name.startswith("--"):
                assert name in result.output, name


def typer_command(name):
    import typer.main

    return typer.main.get_command(app).commands[name]


def test_small_usage_mistakes_are_named(scene, tmp_path):
    path, _ = scene
    both = runner.invoke(
        app, ["analyze", str(path), "-o", str(tmp_path / "o"), "--sample", "A", "--sample-by-folder"]
    )
    assert both.exit_code == 2 and "not both" in both.output
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "x").write_text("")
    demo = runner.invoke(app, ["demo", "-o", str(tmp_path / "demo")])
    assert demo.exit_code == 2 and "--overwrite" in demo.output and "--resume" not in demo.output
    series = tmp_path / "series"
    (series / "s1").mkdir(parents=True)
    tifffile.imwrite(series / "s1" / "a.tif", np.zeros((8, 8), np.uint8))
    nested = runner.invoke(
        app, ["analyze", str(series), "-o", str(tmp_path / "n"), "--segmenter", "threshold"]
    )
    assert "subfolders do (s1)" in nested.output and "/*/" in nested.output
    listed = runner.invoke(app, ["settings"])
    assert ":func:" not in listed.output and "``" not in listed.output
    assert "min_shape_px = 25" in listed.output and "min_pixel_size_nm = 0.001" in listed.output
    presets = runner.invoke(app, ["synth", "--list"])
    assert "background (figure-like)" in presets.output  # second line of a description, not cut


def test_cli_separation_default_is_the_settings_default():
    from nanosizer import cli
    from nanosizer.settings import Settings

    assert cli.DEFAULT_SEPARATION == Settings().separation


def test_learned_separation_writes_whole_outlines_and_hidden_fractions(tmp_path):
    sample = synth("overlap-high", rng=11, size=512)
    path = write_synth(sample, tmp_path, "overlapping")
    out = tmp_path / "out"
    result = runner.invoke(app, ["analyze", str(path), "-o", str(out), "--separation", "learned"])
    assert result.exit_code == 0, result.output
    folder = out / "overlapping"
    table = pd.read_csv(folder / "particles.csv")
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["settings"]["separation"] == "learned" and summary["count"] == len(table) > 10
    assert (table["hidden_fraction"] > 0.05).any()  # overlapping particles keep their whole outline
    outlines = json.loads((folder / "outlines.geojson").read_text())
    assert [f["properties"]["particle_id"] for f in outlines["features"]] == table["particle_id"].tolist()
    labels = tifffile.imread(folder / "labels.tif")  # the visible partition: a hidden part is not painted
    visible = np.bincount(labels.ravel(), minlength=len(table) + 1)[1:]
    area_px = table["area_nm2"].to_numpy() / sample.pixel_size_nm**2
    np.testing.assert_allclose(visible / area_px, 1 - table["hidden_fraction"], atol=1e-3)


def test_version_and_the_paths_argument_in_help():
    from nanosizer import __version__

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"nanosizer {__version__}"
    usage = runner.invoke(app, ["analyze", "--help"]).output
    assert "{PATH}..." in usage and "{paths}" not in usage


def test_nothing_analysed_writes_nothing_and_the_corrected_rerun_works(scene, tmp_path):
    path, _ = scene
    out = tmp_path / "out"
    missing = runner.invoke(app, ["analyze", str(tmp_path / "no-such.tif"), "-o", str(out)])
    assert missing.exit_code == 1 and "none was analysed" in missing.output
    assert not out.exists()  # no empty report, tables or eu_criterion.json = {}
    png = tmp_path / "figure.png"
    from PIL import Image

    Image.fromarray((np.random.default_rng(0).random((64, 64)) * 255).astype(np.uint8)).save(png)
    uncalibrated = runner.invoke(app, ["analyze", str(png), "-o", str(out)])
    assert uncalibrated.exit_code == 1 and not out.exists()
    rerun = runner.invoke(app, ["analyze", str(path), "-o", str(out)])
    assert rerun.exit_code == 0, rerun.output


def test_resume_redoes_a_file_when_the_pixel_size_or_the_region_changes(scene, tmp_path):
    from nanosizer.batch import run_batch
    from nanosizer.settings import Settings

    path, _ = scene
    out = tmp_path / "out"
    run_batch([path], out, Settings(), pixel_size_nm=1.0, report=False)
    same = run_batch([path], out, Settings(), pixel_size_nm=1.0, resume=True, report=False)
    assert same.resumed == 1
    other = run_batch([path], out, Settings(), pixel_size_nm=1.5, resume=True, report=False)
    assert other.resumed == 0
    assert pd.read_csv(out / "summary.csv")["pixel_size_nm"].iloc[0] == 1.5
    cropped = run_batch(
        [path], out, Settings(roi=(0, 0, 200, 384)), pixel_size_nm=1.5, resume=True, report=False
    )
    assert cropped.resumed == 0


def test_json_outputs_hold_null_not_nan(tmp_path):
    from nanosizer.files import write_json

    write_json({"share": float("nan"), "ci": [np.float32("inf"), 0.5], "n": np.int64(3)}, tmp_path / "x.json")
    text = (tmp_path / "x.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"share": None, "ci": [None, 0.5], "n": 3}
