"""report.html: what it says about a run, and that a real browser shows all of it."""

import json
import shutil

import numpy as np
import pytest

from nanosizer.batch import run_batch
from nanosizer.settings import Settings
from nanosizer.synth import synth, write_synth


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Two small generated images of one sample, analysed with the report."""
    folder = tmp_path_factory.mktemp("series")
    for k in range(2):
        write_synth(synth("overlap-low", rng=20 + k, size=256), folder, f"field{k}")
    out = tmp_path_factory.mktemp("run") / "out"
    report = run_batch([folder], out, Settings(segmenter="threshold"), command="nanosizer analyze series/")
    return out, report


def test_report_states_counts_provenance_and_each_image(run):
    out, report = run
    page = (out / "report.html").read_text()
    assert f"{report.particles} particle(s) in 1 sample(s)" in page
    assert "nanosizer analyze series/" in page and "nanosizer: <code>" in page and "UTC" in page
    for name in report.images:
        summary = json.loads((out / name / "summary.json").read_text())
        assert f"<b>{name}</b>: {summary['count']} particle(s)" in page  # caption with counts
    for column in ("pixel size from", "regions excluded", "particle area measured", "time (s)"):
        assert f"<th>{column}</th>" in page
    assert "<th>median</th>" not in page and "<th>d50</th>" in page  # the same number once


def test_eu_verdict_is_withheld_when_the_interval_includes_half():
    from nanosizer.report.html import _eu_paragraph
    from nanosizer.report.statistics import eu_nanomaterial

    few = _eu_paragraph("s", eu_nanomaterial([50.0, 150.0]))
    assert "no verdict" in few and "meets" not in few.replace("meets the ≥", "")
    many = _eu_paragraph("s", eu_nanomaterial(np.random.default_rng(0).uniform(5, 60, 200)))
    assert "the sample meets" in many


def test_thumbnails_keep_the_outlines_visible(tmp_path):
    from PIL import Image

    from nanosizer.report.html import _thumbnail

    rgb = np.full((2048, 2048, 3), 128, np.uint8)
    rgb[1000, 200:1800] = (0, 220, 255)  # a 1-px outline across the image
    Image.fromarray(rgb).save(tmp_path / "overlay.png")
    import io

    thumb = np.asarray(Image.open(io.BytesIO(_thumbnail(tmp_path / "overlay.png"))).convert("RGB")).astype(
        int
    )
    assert thumb.shape[1] == 480
    cyan = (thumb[..., 2] - thumb[..., 0]) > 80
    assert cyan.any(axis=0)[100:380].all()  # still a visible line in the thumbnail


def test_report_renders_in_a_real_browser(run, tmp_path):
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip("Debian's chromium and chromium-driver are not installed (.ci/run installs them)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    out, report = run
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1200,900",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    try:
        browser.get((out / "report.html").as_uri())
        images = browser.execute_script(
            "return Array.from(document.images).map(i => [i.alt, i.complete && i.naturalWidth > 0]);"
        )
        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        title = browser.title
    finally:
        browser.quit()
    assert title == "nanosizer report"
    assert len(images) >= 2 + len(report.images)  # plots and every overlay thumbnail
    assert all(loaded for _, loaded in images), [alt for alt, loaded in images if not loaded]
    assert not errors, errors
