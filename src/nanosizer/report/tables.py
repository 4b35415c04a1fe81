"""Tables and JSON on disk (CSV, XLSX, summary.json), written atomically."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .atomic import atomic_path, write_text


def write_csv(table: pd.DataFrame, target: str | Path) -> None:
    """CSV with a header row, no index, full float precision."""
    with atomic_path(target) as tmp:
        table.to_csv(tmp, index=False)


def write_xlsx(sheets: dict[str, pd.DataFrame], target: str | Path) -> None:
    """One workbook, one sheet per table (sheet names as given)."""
    with atomic_path(target) as tmp:
        with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            for name, table in sheets.items():
                table.to_excel(writer, sheet_name=name[:31], index=False)


def write_json(data: dict, target: str | Path) -> None:
    """Pretty JSON; NumPy scalars and arrays are converted to plain numbers and lists."""
    write_text(target, json.dumps(data, indent=2, default=_plain, ensure_ascii=False) + "\n")


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
