"""Batches: the run report, parallel and Dask engines giving identical tables, and --resume."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from nanosizer.batch import run_batch
from nanosizer.cli import app
from nanosizer.settings import Settings
from nanosizer.synth import synth, write_synth

SETTINGS = Settings(segmenter="threshold")


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    folder = tmp_path_factory.mktemp("series")
    for k in range(3):
        write_synth(synth("overlap-low", rng=20 + k, size=256), folder, f"field{k}")
    (folder / "broken.tif").write_bytes(b"not a tiff at all")
    return folder


def _tables(out):
    return pd.read_csv(out / "particles.csv"), pd.read_csv(out / "summary.csv")


def test_report_statistics_and_plots(series, tmp_path):
    out = tmp_path / "run"
    report = run_batch([series / "*.tif"], out, SETTINGS, sample="TiO2 lot 7")
    assert report.images == ["field0", "field1", "field2"] and len(report.failures) == 1
    page = (out / "report.html").read_text()
    for name in report.images:
        assert f"{name}/particles.csv" in page
    assert page.count("data:image/png;base64") >= 3 + 7  # gallery + plots
    assert "broken.tif" in page and "EU nanomaterial" in page
    for stem in ("equivalent_diameter_nm", "feret_scatter", "per_image"):
        assert (out / "plots" / f"TiO2_lot_7_{stem}.png").is_file()
        assert (out / "plots" / f"TiO2_lot_7_{stem}.svg").is_file()
    statistics = pd.read_csv(out / "statistics.csv")
    particles, summary = _tables(out)
    ecd = statistics[statistics["measure"] == "equivalent_diameter_nm"].iloc[0]
    assert ecd["count"] == len(particles) and ecd["median"] == pytest.approx(
        particles.equivalent_diameter_nm.median()
    )
    assert set(particles["sample"]) == {"TiO2 lot 7"}
    eu = json.loads((out / "eu_criterion.json").read_text())["TiO2 lot 7"]
    assert eu["count"] == len(particles)


def test_process_pool_and_dask_give_the_sequential_tables(series, tmp_path):
    pytest.importorskip("dask.distributed")
    run_batch([series], tmp_path / "seq", SETTINGS, report=False)
    run_batch([series], tmp_path / "pool", SETTINGS, workers=2, report=False)
    dask_report = run_batch([series], tmp_path / "dask", SETTINGS, workers=2, scheduler="local", report=False)
    assert [f for f, _ in dask_report.failures] == [str(series / "broken.tif")]
    reference = _tables(tmp_path / "seq")
    for engine in ("pool", "dask"):
        for got, want in zip(_tables(tmp_path / engine), reference, strict=True):
            got["sample"] = want["sample"]  # sample defaults to the output folder's name
            pd.testing.assert_frame_equal(got, want)
        assert pd.read_csv(tmp_path / engine / "failures.csv")["file"].tolist() == [
            str(series / "broken.tif")
        ]


def test_resume_skips_finished_files_and_redoes_a_deleted_one(series, tmp_path):
    out = tmp_path / "run"
    first = run_batch([series], out, SETTINGS, report=False)
    before = _tables(out)
    shutil.rmtree(out / "field1")
    again = run_batch([series], out, SETTINGS, resume=True, report=False)
    assert again.resumed == 2 and again.images == first.images
    assert (out / "field1" / "particles.csv").is_file()
    for got, want in zip(_tables(out), before, strict=True):
        pd.testing.assert_frame_equal(got, want)
    changed = run_batch([series], out, SETTINGS.replace(separation="watershed"), resume=True, report=False)
    assert changed.resumed == 0  # other settings: nothing reused


def test_compare_command(series, tmp_path):
    out = tmp_path / "run"
    run_batch([series / "field0.tif"], out, SETTINGS, report=False)
    manual = tmp_path / "manual.csv"
    sizes = pd.read_csv(out / "particles.csv")["equivalent_diameter_nm"] * 1.02
    rows = (f"{k + 1},{v:.3f},ok" for k, v in enumerate(sizes))
    manual.write_text("id,diameter_nm,comment\n" + "\n".join(rows))  # the ids must not be taken
    result = CliRunner().invoke(app, ["compare", str(out), str(manual)])
    assert result.exit_code == 0, result.output
    assert "column 'diameter_nm' (nm)" in result.output
    row = pd.read_csv(out / "comparison.csv").iloc[0]
    assert row["manual_count"] == len(sizes) and row["relative_difference"] == pytest.approx(-0.02, abs=1e-3)
    assert (out / "comparison.png").stat().st_size > 1000
    bad = CliRunner().invoke(app, ["compare", str(out), str(series / "broken.tif")])
    assert bad.exit_code == 2 and "broken.tif" in bad.output


def test_cli_workers_resume_and_sample_options(series, tmp_path):
    out = tmp_path / "run"
    args = ["analyze", str(series), "-o", str(out), "--segmenter", "threshold", "--workers", "2"]
    first = CliRunner().invoke(app, [*args, "--sample-by-folder"])
    assert first.exit_code == 1 and "broken.tif" in first.output  # the bad file fails, the rest is done
    assert set(pd.read_csv(out / "particles.csv")["sample"]) == {series.name}
    again = CliRunner().invoke(app, [*args, "--resume", "--sample-by-folder"])
    assert "3 file(s) reused" in again.output
    assert np.isfinite(pd.read_csv(out / "summary.csv")["equivalent_diameter_nm_mean"]).all()


def test_network_workers_give_the_same_tables_with_one_inference_thread_each(tmp_path):
    folder = tmp_path / "in"
    for k in range(3):
        write_synth(synth("overlap-low", rng=60 + k, size=320), folder, f"f{k}")
    settings = Settings()  # the network
    one = run_batch([folder], tmp_path / "one", settings, workers=1, report=False, sample="s")
    two = run_batch([folder], tmp_path / "two", settings, workers=2, report=False, sample="s")
    assert one.images == two.images and one.particles == two.particles > 0
    pd.testing.assert_frame_equal(*(pd.read_csv(tmp_path / d / "particles.csv") for d in ("one", "two")))
    for name in two.images:
        worker = json.loads((tmp_path / "two" / name / "summary.json").read_text())["model"]
        here = json.loads((tmp_path / "one" / name / "summary.json").read_text())["model"]
        assert worker["inference_threads"] == 1  # a session opened in the worker, not inherited
        assert here["inference_threads"] == "one per core"


def test_compare_picks_and_names_the_measure_the_manual_column_names(series, tmp_path):
    out = tmp_path / "run"
    run_batch([series / "field0.tif"], out, SETTINGS, report=False)
    feret = pd.read_csv(out / "particles.csv")["feret_max_nm"]
    manual = tmp_path / "manual.csv"
    manual.write_text("Feret (nm)\n" + "\n".join(f"{v:.3f}" for v in feret))
    result = CliRunner().invoke(app, ["compare", str(out), str(manual)])
    assert result.exit_code == 0, result.output
    assert "nanosizer's Feret max (feret_max_nm)" in result.output
    assert "nanosizer Feret max" in result.output and "manual 'Feret (nm)'" in result.output
    row = pd.read_csv(out / "comparison.csv").iloc[0]
    assert row["relative_difference"] == pytest.approx(0.0, abs=1e-3)  # Feret against Feret, not ECD
    chosen = CliRunner().invoke(app, ["compare", str(out), str(manual), "--measure", "feret_min_nm"])
    assert "nanosizer Feret min" in chosen.output


def test_same_named_files_get_unique_names_everywhere(realdata, tmp_path):
    import shutil

    folder = tmp_path / "in"
    folder.mkdir()
    source = realdata / "dm" / "ncempy_dmTest_float32_nonSquare_diffPixelSize"
    shutil.copy(source.with_suffix(".dm3"), folder / "a.dm3")
    shutil.copy(source.with_suffix(".dm4"), folder / "a.dm4")
    lines = []
    report = run_batch([folder], tmp_path / "out", SETTINGS, on_message=lambda text, warn: lines.append(text))
    assert report.images == ["a", "a-2"]
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    assert {"a", "a-2"} <= set(summary["image"])
    assert json.loads((tmp_path / "out" / "a-2" / "summary.json").read_text())["image"] == "a-2"
    assert any(line.startswith("a-2:") or line.startswith("WARNING a-2:") for line in lines)


def test_memory_planning_reads_dm_sizes_and_stays_quiet_for_one_file(realdata):
    from nanosizer.memory import image_shape, plan_workers

    assert image_shape(realdata / "dm" / "rsciio_test_STEM_image.dm3") == (68, 68)  # not 219x219
    assert image_shape(realdata / "dm" / "rsciio_multi_signal.dm3") == (512, 512)  # not 587x587
    assert plan_workers([realdata / "dm" / "rsciio_multi_signal.dm3"], 2, 100.0) == (1, None)
