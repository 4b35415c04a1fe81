"""Write one image's results folder and the run-level tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..measure import SUMMARY_MEASURES
from .images import overlay_image, write_labels_tiff, write_png
from .tables import write_csv, write_json, write_xlsx

COMBINED = "ALL (combined)"


def write_image_results(result, folder: str | Path, tables: tuple[str, ...] = ("csv",)) -> dict:
    """Write ``particles.csv``, ``labels.tif``, ``segmentation.png``, ``overlay.png``,
    ``summary.json`` for one analysed image; returns the summary written."""
    folder = Path(folder)
    mg = result.micrograph
    summary = result.summary
    if "csv" in tables:
        write_csv(result.particles, folder / "particles.csv")
    if "xlsx" in tables:
        write_xlsx({"particles": result.particles}, folder / "particles.xlsx")
    write_labels_tiff(result.labels, folder / "labels.tif", mg.pixel_size_nm)
    write_png(result.segmentation.astype(np.uint8) * 255, folder / "segmentation.png")
    write_png(overlay_image(mg.data, result.separation.particles, mg.pixel_size_nm), folder / "overlay.png")
    write_json(summary, folder / "summary.json")
    return summary


def summary_row(image: str, table: pd.DataFrame, pixel_size_nm: float | None) -> dict:
    """One row of ``summary.csv``: count and mean, std, median of every measure."""
    row = {"image": image, "count": int(len(table)), "pixel_size_nm": pixel_size_nm}
    for name in SUMMARY_MEASURES:
        values = table[name].to_numpy(dtype=float)
        row[f"{name}_mean"] = values.mean() if values.size else np.nan
        row[f"{name}_std"] = values.std(ddof=1) if values.size > 1 else np.nan
        row[f"{name}_median"] = np.median(values) if values.size else np.nan
    return row


def write_run_tables(
    out_dir: str | Path,
    particles: list[pd.DataFrame],
    rows: list[dict],
    settings: dict,
    failures: list[tuple[str, str]],
    tables: tuple[str, ...] = ("csv", "xlsx"),
) -> None:
    """Write the run's ``particles.csv``, ``summary.csv``, ``results.xlsx`` and ``failures.csv``.

    ``particles`` are per-image tables that already carry an ``image`` column; the summary gets
    one row per image plus the combined sample.
    """
    out_dir = Path(out_dir)
    all_particles = pd.concat(particles, ignore_index=True) if particles else pd.DataFrame()
    pixel_sizes = {r["pixel_size_nm"] for r in rows}
    combined = summary_row(
        COMBINED,
        all_particles if len(all_particles.columns) else _empty(),
        pixel_sizes.pop() if len(pixel_sizes) == 1 else None,
    )
    summary = pd.DataFrame([*rows, combined])
    settings_table = pd.DataFrame({"setting": list(settings), "value": [str(v) for v in settings.values()]})
    if "csv" in tables:
        write_csv(all_particles, out_dir / "particles.csv")
        write_csv(summary, out_dir / "summary.csv")
    if "xlsx" in tables:
        write_xlsx(
            {"particles": all_particles, "summary": summary, "settings": settings_table},
            out_dir / "results.xlsx",
        )
    if failures:
        write_csv(pd.DataFrame(failures, columns=["file", "error"]), out_dir / "failures.csv")


def _empty() -> pd.DataFrame:
    from ..measure import COLUMNS

    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in COLUMNS.items()})
