"""The run-level outputs: tables of all particles, per-sample statistics, plots and the report."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..files import write_csv, write_json, write_xlsx
from ..measure import empty_table
from .results import COMBINED, summary_row


def write_run_outputs(
    out_dir: str | Path,
    particles: list[pd.DataFrame],
    rows: list[dict],
    settings: dict,
    failures: list[tuple[str, str]],
    tables: tuple[str, ...] = ("csv", "xlsx"),
    report: bool = True,
    provenance: dict | None = None,
    keep_unreliable: bool = False,
) -> list[str]:
    """Write ``particles.csv``, ``summary.csv``, ``statistics.csv``, ``distributions.csv``,
    ``eu_criterion.json``, ``results.xlsx``, ``plots/``, ``report.html`` and ``failures.csv``.

    ``particles`` are per-image tables that carry ``image`` and ``sample`` columns; the summary
    gets one row per image, one combined row per sample, and the whole run when there are several.
    Images whose row says ``quality`` = ``unreliable`` keep their row but stay out of everything
    pooled (particles, statistics, distributions, EU criterion, plots) unless ``keep_unreliable``;
    returns their names.
    """
    from .statistics import eu_nanomaterial, sample_statistics, weighted_distribution

    out_dir = Path(out_dir)
    left_out = [] if keep_unreliable else [r["image"] for r in rows if r.get("quality") == "unreliable"]
    if particles:
        all_particles = pd.concat(particles, ignore_index=True)
    else:
        all_particles = empty_table()
        all_particles.insert(0, "image", pd.Series(dtype=str))
        all_particles.insert(1, "sample", pd.Series(dtype=str))
    summary_rows = list(rows)
    samples = list(dict.fromkeys(all_particles["sample"])) or list(
        dict.fromkeys(r.get("sample") for r in rows)
    )
    all_particles = all_particles[~all_particles["image"].isin(left_out)].reset_index(drop=True)
    for sample in samples:
        pixel_sizes = {
            r["pixel_size_nm"] for r in rows if r.get("sample") == sample and r["image"] not in left_out
        }
        table = all_particles[all_particles["sample"] == sample]
        label = COMBINED if len(samples) == 1 else f"{COMBINED[:-1]}: {sample})"
        summary_rows.append(
            summary_row(label, table, pixel_sizes.pop() if len(pixel_sizes) == 1 else None)
            | {"sample": sample}
        )
    if len(samples) > 1:
        summary_rows.append(summary_row(COMBINED, all_particles, None))
    summary = pd.DataFrame(summary_rows)
    statistics = sample_statistics(all_particles)
    eu = {
        s: eu_nanomaterial(all_particles.loc[all_particles["sample"] == s, "feret_min_nm"]) for s in samples
    }
    distributions = pd.concat(
        [
            weighted_distribution(
                all_particles.loc[all_particles["sample"] == s, "equivalent_diameter_nm"]
            ).assign(sample=s, measure="equivalent_diameter_nm")
            for s in samples
        ]
        or [pd.DataFrame()],
        ignore_index=True,
    )
    settings_table = pd.DataFrame({"setting": list(settings), "value": [str(v) for v in settings.values()]})
    if "csv" in tables:
        write_csv(all_particles, out_dir / "particles.csv")
        write_csv(summary, out_dir / "summary.csv")
        write_csv(statistics, out_dir / "statistics.csv")
        write_csv(distributions, out_dir / "distributions.csv")
    if "xlsx" in tables:
        write_xlsx(
            {
                "particles": all_particles,
                "summary": summary,
                "statistics": statistics,
                "settings": settings_table,
            },
            out_dir / "results.xlsx",
        )
    write_json(eu, out_dir / "eu_criterion.json")
    if failures:
        write_csv(pd.DataFrame(failures, columns=["file", "error"]), out_dir / "failures.csv")
    if report:
        from .html import write_report
        from .plots import write_sample_plots

        plots = {
            s: write_sample_plots(all_particles[all_particles["sample"] == s], out_dir / "plots", s)
            for s in samples
        }
        images = [r["image"] for r in rows]
        write_report(
            out_dir,
            statistics,
            eu,
            images,
            settings,
            plots,
            failures,
            provenance=provenance,
            left_out=left_out,
        )
    return left_out
