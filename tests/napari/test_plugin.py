"""The napari plugin: reader, sample data, and the widget's analyse → correct → export loop."""

import json

import numpy as np
import pandas as pd
import pytest
import tifffile

from nanosizer.data import example_images
from nanosizer.io import read_micrographs

pytest.importorskip("napari")

EXAMPLE = next(p for p in example_images() if "overlap-low" in p.name)


@pytest.fixture
def analysed(make_napari_viewer, qtbot):
    """A viewer with the overlap-low example open and analysed by the dock widget."""
    from nanosizer.napari_plugin.widget import ParticleAnalysisWidget

    viewer = make_napari_viewer()
    viewer.open(EXAMPLE, plugin="nanosizer")
    widget = ParticleAnalysisWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.analyse()
    qtbot.waitUntil(lambda: widget.result is not None, timeout=120_000)
    qtbot.waitUntil(lambda: widget.analyse_button.isEnabled(), timeout=10_000)
    return viewer, widget


def test_reader_gives_the_pixel_size_as_scale_in_nm(realdata, make_napari_viewer):
    # realdata comes first: when it skips, no viewer was made (napari's teardown needs a test that ran)
    from nanosizer.napari_plugin.reader import get_reader

    path = realdata / "dm" / "rsciio_multi_signal.dm3"
    assert get_reader(str(path)) is not None and get_reader("notes.txt") is None
    viewer = make_napari_viewer()
    (layer,) = viewer.open(path, plugin="nanosizer")
    (micrograph,) = read_micrographs(path)
    assert layer.scale[-1] == pytest.approx(micrograph.pixel_size_nm) == pytest.approx(0.017751578241586685)
    assert [str(u) for u in layer.units] == ["nanometer", "nanometer"]
    assert layer.metadata["nanosizer"]["pixel_size_source"] == micrograph.pixel_size_source


def test_reader_opens_an_uncalibrated_png_in_pixels(make_napari_viewer, tmp_path):
    from PIL import Image

    path = tmp_path / "figure.png"
    Image.fromarray(np.tile(np.arange(64, dtype=np.uint8), (64, 1))).save(path)
    viewer = make_napari_viewer()
    (layer,) = viewer.open(path, plugin="nanosizer")
    assert tuple(layer.scale) == (1.0, 1.0)
    assert layer.metadata["nanosizer"]["pixel_size_nm"] is None


def test_sample_data_are_the_calibrated_examples(make_napari_viewer):
    viewer = make_napari_viewer()
    (layer,) = viewer.open_sample("nanosizer", "pt-cubes")
    (micrograph,) = read_micrographs(next(p for p in example_images() if "pt-cubes" in p.name))
    assert layer.scale[-1] == pytest.approx(micrograph.pixel_size_nm)
    assert np.array_equal(layer.data, micrograph.data)


def test_settings_form_is_generated_from_settings_and_validates(make_napari_viewer):
    import dataclasses

    from nanosizer import Settings
    from nanosizer.napari_plugin.settings_form import SettingsForm

    form = SettingsForm()
    assert set(form.editors) == {f.name for f in dataclasses.fields(Settings)}
    assert form.settings() == Settings()
    assert "paper: 0.95" in form.editors["convexity_threshold"].toolTip()
    assert form.editors["convexity_threshold"].maximum() == 1.0
    form.set_value("separation", "watershed")
    form.set_value("roi", (0, 0, 100, 200))
    assert form.settings().separation == "watershed" and form.settings().roi == (0, 0, 100, 200)
    form.set_value("network_zoom", "fast")
    with pytest.raises(ValueError, match="network_zoom"):
        form.settings()


def test_widget_analyses_into_layers_and_a_table(analysed):
    viewer, widget = analysed
    result = widget.result
    names = [layer.name for layer in viewer.layers]
    for suffix in ("particles", "excluded", "cut lines"):
        assert f"example_overlap-low {suffix}" in names
    labels = widget.particles_layer.data
    assert widget.table.rowCount() == len(result.particles) == len(np.setdiff1d(np.unique(labels), [0])) > 10
    assert widget.progress.value() == widget.progress.maximum()
    assert tuple(widget.particles_layer.scale) == tuple(viewer.layers["example_overlap-low"].scale)
    excluded = widget.excluded_layer
    assert len(excluded.features) == len(result.separation.excluded_regions)


def test_table_and_viewer_select_each_other_and_sort_by_value(analysed):
    _, widget = analysed
    ecd_column = 2  # particle_id, area_nm2, equivalent_diameter_nm, ...
    assert widget.table.horizontalHeaderItem(ecd_column).text() == "equivalent_diameter_nm"
    widget.table.sortItems(ecd_column)
    ids = widget.table_ids()
    table = widget.result.particles.set_index("particle_id")
    assert np.all(np.diff(table.loc[ids, "equivalent_diameter_nm"].to_numpy()) >= 0)
    widget.table.selectRow(3)
    assert widget.particles_layer.selected_label == ids[3]
    widget.particles_layer.selected_label = ids[7]
    assert widget.selected_rows() == [7]


def test_colour_by_a_measure(analysed):
    from matplotlib import colormaps

    _, widget = analysed
    widget.colour_box.setCurrentText("equivalent_diameter_nm")
    table = widget.result.particles
    largest = int(table.loc[table["equivalent_diameter_nm"].idxmax(), "particle_id"])
    smallest = int(table.loc[table["equivalent_diameter_nm"].idxmin(), "particle_id"])
    colours = widget.particles_layer.colormap.map(np.array([largest, smallest]))
    assert np.allclose(colours, colormaps["viridis"]([1.0, 0.0]), atol=1e-3)
    widget.colour_box.setCurrentText("label colours")
    assert widget.particles_layer.colormap is widget._label_colormap


def _centre_of(labels, value):
    rows, cols = np.nonzero(labels == value)
    k = np.argmin((rows - rows.mean()) ** 2 + (cols - cols.mean()) ** 2)
    return int(rows[k]), int(cols[k])


def _touching_pair(labels):
    """Two different particles that touch (8-neighbours), for a merge by fill."""
    a, b = labels[:, :-1], labels[:, 1:]
    touch = (a > 0) & (b > 0) & (a != b)
    if not touch.any():
        pytest.skip("no touching particles in this result")
    r, c = np.argwhere(touch)[0]
    return int(a[r, c]), int(b[r, c])


def test_delete_and_merge_with_napari_label_tools_change_the_table(analysed):
    _, widget = analysed
    layer = widget.particles_layer
    before = widget.result.particles.set_index("particle_id")
    count = len(before)
    victim = int(before.index[0])
    layer.fill(_centre_of(layer.data, victim), 0)  # the fill bucket with the background label
    keep, gone = _touching_pair(np.asarray(layer.data))
    layer.fill(_centre_of(layer.data, gone), keep)  # merge: fill one particle with the other's label
    widget.remeasure()
    after = widget.result.particles.set_index("particle_id")
    assert len(after) == count - 2 == widget.table.rowCount()
    assert victim not in after.index and gone not in after.index
    px = widget.result.micrograph.pixel_size_nm
    merged_px = int((np.asarray(layer.data) == keep).sum())
    assert after.loc[keep, "area_nm2"] == pytest.approx(merged_px * px * px)
    assert after.loc[keep, "area_nm2"] > before.loc[keep, "area_nm2"]
    assert after["edited"].sum() == 1 and bool(after.loc[keep, "edited"])


def test_split_along_a_drawn_line(analysed):
    _, widget = analysed
    labels = np.asarray(widget.particles_layer.data)
    table = widget.result.particles
    target = int(table.loc[table["equivalent_diameter_nm"].idxmax(), "particle_id"])
    rows, cols = np.nonzero(labels == target)
    mid = int(np.median(cols))
    widget.lines_layer.add_paths([np.array([[rows.min() - 3, mid], [rows.max() + 3, mid]], float)])
    made = widget.split_along_lines()
    assert made >= 1
    assert len(widget.result.particles) == len(table) + made
    assert len(widget.lines_layer.data) == 0


def test_export_round_trips(analysed, tmp_path):
    _, widget = analysed
    layer = widget.particles_layer
    victim = int(widget.result.particles["particle_id"].iloc[-1])
    layer.fill(_centre_of(layer.data, victim), 0)
    summary = widget.export(tmp_path / "corrected")
    folder = tmp_path / "corrected"
    for name in ("particles.csv", "particles.xlsx", "labels.tif", "overlay.png", "summary.json"):
        assert (folder / name).is_file(), name
    table = pd.read_csv(folder / "particles.csv")
    assert len(table) == len(widget.result.particles) == summary["count"]
    assert victim not in set(table["particle_id"])
    assert np.array_equal(tifffile.imread(folder / "labels.tif"), np.asarray(layer.data))
    saved = json.loads((folder / "summary.json").read_text())
    assert saved["edited"] is True and saved["edits"]["deleted"] == [victim]


def test_widget_says_what_is_missing_instead_of_analysing(make_napari_viewer, tmp_path):
    from PIL import Image

    from nanosizer.napari_plugin.widget import ParticleAnalysisWidget

    path = tmp_path / "figure.png"
    Image.fromarray(np.tile(np.arange(64, dtype=np.uint8), (64, 1))).save(path)
    viewer = make_napari_viewer()
    viewer.open(path, plugin="nanosizer")
    widget = ParticleAnalysisWidget(viewer)
    assert widget.pixel_size.value() == 0.0  # no calibration: nothing made up
    widget.analyse()
    assert "pixel size" in widget.status.text() and widget._worker is None
    widget.pixel_size.setValue(0.5)
    widget.settings_form.set_value("network_zoom", "fast")
    widget.analyse()
    assert "network_zoom" in widget.status.text() and widget._worker is None
    assert not widget.export_button.isEnabled()


def test_an_analysis_that_fails_in_the_worker_is_reported(make_napari_viewer, qtbot):
    from nanosizer.napari_plugin.widget import ParticleAnalysisWidget

    viewer = make_napari_viewer()
    viewer.open(EXAMPLE, plugin="nanosizer")
    widget = ParticleAnalysisWidget(viewer)
    widget.pixel_size.setValue(50_000)  # beyond any micrograph: refused by the pipeline itself
    widget.analyse()
    qtbot.waitUntil(lambda: widget.analyse_button.isEnabled(), timeout=60_000)
    assert "Analysis failed" in widget.status.text() and "plausible" in widget.status.text()
    assert widget.result is None and widget.particles_layer is None


def test_the_status_says_when_an_image_is_unreliable(make_napari_viewer, qtbot):
    from nanosizer.napari_plugin.widget import ParticleAnalysisWidget
    from nanosizer.synth import generate, preset_params

    rng = np.random.default_rng(1)
    params = preset_params("au-phase-grain", rng, 384)
    params.coverage = 0.0  # carbon grain only
    scene = generate(params, rng)
    viewer = make_napari_viewer()
    viewer.add_image(scene.image, name="grain", scale=(scene.pixel_size_nm,) * 2, units=("nm", "nm"))
    widget = ParticleAnalysisWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.analyse()
    qtbot.waitUntil(lambda: widget.result is not None, timeout=120_000)
    assert widget.result.quality.verdict == "unreliable"
    status = widget.status.text()
    assert status.startswith("UNRELIABLE: ") and "the network half-responds" in status
