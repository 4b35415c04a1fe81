"""Reading a manual size list: the diameter column by its name and unit, never a guess."""

import numpy as np
import pytest

from nanosizer.errors import NanosizerError
from nanosizer.report.compare import read_manual_sizes


def _csv(tmp_path, text):
    path = tmp_path / "manual.csv"
    path.write_text(text)
    return path


def test_the_diameter_column_is_found_by_name_not_position(tmp_path):
    path = _csv(tmp_path, "id,diameter_nm,comment\n1,10.5,round\n2,12.0,\n3,11.0,twin\n")
    values, used, _ = read_manual_sizes(path)
    assert values.tolist() == [10.5, 12.0, 11.0]
    assert "diameter_nm" in used and "(nm)" in used


@pytest.mark.parametrize(
    ("header", "scale", "word"),
    [("ECD (µm)", 1000.0, "converted"), ("size [pm]", 1e-3, "converted"), ("Diameter", 1.0, "assumed")],
)
def test_units_in_the_header_are_converted_to_nm(tmp_path, header, scale, word):
    values, used, _ = read_manual_sizes(_csv(tmp_path, f"particle,{header}\n1,0.02\n2,0.03\n"))
    assert values == pytest.approx(np.array([0.02, 0.03]) * scale)
    assert word in used


def test_one_column_without_header_is_taken(tmp_path):
    values, used, _ = read_manual_sizes(_csv(tmp_path, "10\n11\n12\n"))
    assert values.tolist() == [10, 11, 12] and "nm assumed" in used


def test_ambiguous_or_non_numeric_choices_are_refused(tmp_path):
    with pytest.raises(NanosizerError, match="several columns name a size.*--column"):
        read_manual_sizes(_csv(tmp_path, "feret_size_nm,ecd_nm\n1,2\n3,4\n"))
    with pytest.raises(NanosizerError, match="no column names a diameter"):
        read_manual_sizes(_csv(tmp_path, "id,value\n1,2\n3,4\n"))
    with pytest.raises(NanosizerError, match="'comment' is not a list of numbers"):
        read_manual_sizes(_csv(tmp_path, "id,diameter_nm,comment\n1,10,a\n2,11,b\n"), column="comment")
    values, used, _ = read_manual_sizes(_csv(tmp_path, "id,value\n1,2\n3,4\n"), column="2")
    assert values.tolist() == [2, 4] and "'value'" in used
    with pytest.raises(NanosizerError, match="no column 'nope'"):
        read_manual_sizes(_csv(tmp_path, "id,value\n1,2\n3,4\n"), column="nope")
