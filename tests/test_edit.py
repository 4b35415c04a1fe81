"""Corrections without a GUI: cut lines, re-measure, the edit report, export and a batch's resume."""

import json

import numpy as np
import pandas as pd
import pytest
import tifffile
from helpers import disc_mask

import nanosizer
from nanosizer.batch import run_batch
from nanosizer.edit import describe_edits, remeasure, split_along_line, write_edited_results
from nanosizer.errors import OutputExistsError

PX = 0.5  # nm


def _scene():
    """Four dark discs on bright background: two apart, two touching (one region)."""
    image = np.full((120, 160), 200, np.uint8)
    for centre, radius in (((30, 30), 12), ((30, 90), 10), ((85, 60), 14), ((85, 86), 14)):
        image[disc_mask(image.shape, centre, radius)] = 60
    return image


@pytest.fixture
def result():
    return nanosizer.analyze(_scene(), pixel_size_nm=PX, segmenter="threshold", separation="none")


def test_split_along_line_cuts_two_touching_discs_and_keeps_the_area():
    labels = np.zeros((60, 100), np.uint16)
    left, right = disc_mask(labels.shape, (30, 35), 14), disc_mask(labels.shape, (30, 61), 14)
    labels[left | right] = 7
    cut, new = split_along_line(labels, [(5, 48), (55, 48)])
    assert new == [8]
    assert int((cut > 0).sum()) == int((labels > 0).sum())  # the line's pixels were given back
    left_piece, right_piece = cut[30, 35], cut[30, 61]
    assert {int(left_piece), int(right_piece)} == {7, 8}
    for piece, disc in ((left_piece, left), (right_piece, right)):
        assert abs(int((cut == piece).sum()) - int(disc.sum())) <= 0.05 * disc.sum()


def test_split_along_line_leaves_a_particle_that_the_line_does_not_cross():
    labels = np.zeros((40, 40), np.uint16)
    labels[disc_mask(labels.shape, (20, 20), 10)] = 1
    cut, new = split_along_line(labels, [(0, 20), (20, 20)])  # ends inside the particle
    assert new == []
    assert np.array_equal(cut, labels)
    with pytest.raises(ValueError, match="two"):
        split_along_line(labels, [(1, 2)])


def test_remeasure_after_a_delete_keeps_every_other_row(result):
    labels = result.labels.copy()
    gone = int(result.particles["particle_id"].iloc[0])
    labels[labels == gone] = 0
    edited = remeasure(result, labels)
    assert len(edited.particles) == len(result.particles) - 1
    assert gone not in set(edited.particles["particle_id"])
    kept = result.particles.set_index("particle_id").drop(index=gone)
    again = edited.particles.set_index("particle_id")
    pd.testing.assert_frame_equal(again.drop(columns="edited"), kept, check_like=True)
    assert not again["edited"].any()
    assert not edited.segmentation[result.labels == gone].any()  # no longer particle area


def test_remeasure_after_a_merge_measures_the_union_and_flags_it(result):
    table = result.particles
    a, b = (int(v) for v in table["particle_id"].iloc[:2])
    labels = result.labels.copy()
    labels[labels == b] = a
    edited = remeasure(result, labels).particles.set_index("particle_id")
    area = table.set_index("particle_id")["area_nm2"]
    assert edited.loc[a, "area_nm2"] == pytest.approx(area[a] + area[b])
    assert bool(edited.loc[a, "edited"])
    assert int(edited["edited"].sum()) == 1
    assert b not in edited.index


def test_remeasure_refuses_labels_of_another_shape(result):
    with pytest.raises(ValueError, match="shape"):
        remeasure(result, np.zeros((3, 3), np.uint16))


def test_describe_edits_names_each_kind_of_change():
    before = np.zeros((40, 80), np.uint16)
    before[2:10, 2:10] = 1  # deleted
    before[2:10, 20:28] = 2  # merged with 3
    before[2:10, 30:38] = 3
    before[20:30, 2:30] = 4  # split
    before[20:30, 40:50] = 5  # reshaped
    after = before.copy()
    after[after == 1] = 0
    after[after == 3] = 2
    after[20:30, 16:30] = 6
    after[30:32, 40:50] = 5
    after[34:38, 60:70] = 7  # added
    report = describe_edits(before, after)
    assert report["deleted"] == [1]
    assert report["merged"] == {"2": [2, 3]}
    assert report["split"] == {"4": [4, 6]}
    assert report["added"] == [7]
    assert report["reshaped"] == [5]
    assert report["changed_pixels"] == int((before != after).sum())
    assert describe_edits(before, before)["changed_pixels"] == 0


def test_export_round_trips_and_never_overwrites_in_silence(result, tmp_path):
    labels = result.labels.copy()
    labels[labels == 1] = 0
    edited = remeasure(result, labels)
    edits = describe_edits(result.labels, edited.labels)
    summary = write_edited_results(edited, tmp_path / "img", edits)
    assert summary["edited"] is True and summary["edits"]["deleted"] == [1]
    table = pd.read_csv(tmp_path / "img" / "particles.csv")
    assert list(table["particle_id"]) == list(edited.particles["particle_id"])
    assert np.allclose(table["area_nm2"], edited.particles["area_nm2"])
    assert np.array_equal(tifffile.imread(tmp_path / "img" / "labels.tif"), edited.labels)
    saved = json.loads((tmp_path / "img" / "summary.json").read_text())
    assert saved["count"] == len(edited.particles) and saved["edited"] is True
    outlines = json.loads((tmp_path / "img" / "outlines.geojson").read_text())
    assert [f["properties"]["particle_id"] for f in outlines["features"]] == list(table["particle_id"])
    before = (tmp_path / "img" / "particles.csv").read_bytes()
    with pytest.raises(OutputExistsError):
        write_edited_results(result, tmp_path / "img", edits)
    assert (tmp_path / "img" / "particles.csv").read_bytes() == before


def test_corrected_image_joins_a_batch_on_resume(tmp_path):
    folder = tmp_path / "series"
    folder.mkdir()
    tifffile.imwrite(folder / "a.tif", _scene())
    out = tmp_path / "out"
    options = {"pixel_size_nm": PX, "tables": ("csv",), "report": False}
    settings = nanosizer.Settings(segmenter="threshold", separation="none")
    assert run_batch([folder], out, settings, **options).ok
    first = pd.read_csv(out / "particles.csv")
    analysed = nanosizer.analyze(folder / "a.tif", pixel_size_nm=PX, segmenter="threshold", separation="none")
    labels = analysed.labels.copy()
    labels[labels == 2] = 0
    edited = remeasure(analysed, labels)
    write_edited_results(edited, out / "a", describe_edits(analysed.labels, labels), ("csv",), overwrite=True)
    report = run_batch([folder], out, settings, resume=True, **options)
    assert report.ok and report.resumed == 1
    combined = pd.read_csv(out / "particles.csv")
    assert len(combined) == len(first) - 1
    assert 2 not in set(combined["particle_id"]) and combined["edited"].notna().all()
