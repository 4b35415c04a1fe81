"""Write one image's results folder and the run-level tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..files import write_csv, write_json, write_labels_tiff, write_png, write_xlsx
from ..measure import describe_measures
from ..quality import Quality
from .images import overlay_image
from .outlines import outlines_geojson

COMBINED = "ALL (combined)"


def write_image_results(
    result, folder: str | Path, tables: tuple[str, ...] = ("csv",), extra: dict | None = None
) -> dict:
    """Write ``particles.csv``, ``labels.tif``, ``outlines.geojson``, ``segmentation.png``,
    ``overlay.png``, ``summary.json`` (with ``extra`` entries) for one analysed image;
    returns the summary."""
    folder = Path(folder)
    mg = result.micrograph
    summary = result.summary | (extra or {})
    if "csv" in tables:
        write_csv(result.particles, folder / "particles.csv")
    if "xlsx" in tables:
        write_xlsx({"particles": result.particles}, folder / "particles.xlsx")
    write_labels_tiff(result.labels, folder / "labels.tif", mg.pixel_size_nm)
    sep = result.separation
    write_json(
        outlines_geojson(sep.particles, result.particles, mg.pixel_size_nm),
        folder / "outlines.geojson",
        indent=None,
    )
    write_png(result.segmentation.astype(np.uint8) * 255, folder / "segmentation.png")
    overlay = overlay_image(mg.data, sep.particles, mg.pixel_size_nm, sep.excluded_regions, result.quality)
    write_png(overlay, folder / "overlay.png")
    write_json(summary, folder / "summary.json")
    return summary


def summary_row(image: str, table: pd.DataFrame, pixel_size_nm: float | None) -> dict:
    """One row of ``summary.csv``: count and mean, std, median of every measure."""
    row = {"image": image, "count": int(len(table)), "pixel_size_nm": pixel_size_nm}
    for name, stats in describe_measures(table).items():
        row.update({f"{name}_{stat}": value for stat, value in stats.items()})
    return row


def quality_columns(summary: dict) -> dict:
    """``quality`` and ``quality_reasons`` of an image's row in ``summary.csv``, from its summary
    (:mod:`nanosizer.quality`; empty for a summary written before verdicts existed)."""
    quality = Quality.from_summary(summary)
    if quality is None:
        return {"quality": "", "quality_reasons": ""}
    return {"quality": quality.verdict, "quality_reasons": "; ".join(quality.reasons)}
