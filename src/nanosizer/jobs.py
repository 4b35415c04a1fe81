"""One input file as a unit of work: what a worker needs, what it returns, and the work itself.

Shared by every engine (this process, the crash-resilient process pool, Dask), so each writes
the same folders and tables. :func:`analyze_file` never raises: a failure is part of its outcome.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import NanosizerError
from .files import write_text
from .io import iter_micrographs
from .io.frames import short_reason
from .memory import too_big_reason
from .pipeline import analyze_micrograph, image_status, resolve_particles, roi_window
from .report import write_image_results
from .report.results import quality_columns, summary_row
from .segment import imaging_mode
from .settings import Settings

log = logging.getLogger("nanosizer")


@dataclass(frozen=True)
class FileJob:
    """Everything one worker needs to analyse one input file and write its folders."""

    path: Path
    out_dir: Path
    stem: str  # unique output stem of this file in the run
    sample: str
    settings: Settings
    pixel_size_nm: float | None = None
    mask: np.ndarray | None = None
    tables: tuple[str, ...] = ("csv",)
    resume: bool = False
    run_hash: str = ""
    memory_mb: float | None = None  # what one worker may use; larger images are refused


@dataclass
class FileOutcome:
    """What came back from one file: its images' particle tables and summary rows, or a failure."""

    path: str
    images: list[str] = field(default_factory=list)
    particles: list[pd.DataFrame] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)
    failure: str | None = None
    resumed: bool = False
    lines: list[tuple[str, bool]] = field(default_factory=list)  # per-image status, warning?


def marker_path(job: FileJob) -> Path:
    return job.out_dir / ".done" / f"{job.stem}.json"


def _resume(job: FileJob) -> FileOutcome | None:
    """The finished outputs of a file, when its marker matches this run and no folder is missing."""
    try:
        done = json.loads(marker_path(job).read_text())
    except (OSError, ValueError):
        return None
    if done.get("run_hash") != job.run_hash or done.get("source") != str(job.path):
        return None
    outcome = FileOutcome(str(job.path), resumed=True)
    for name, pixel_size in zip(done["images"], done["pixel_sizes_nm"], strict=True):
        table_path = job.out_dir / name / "particles.csv"
        if not (table_path.is_file() and (job.out_dir / name / "summary.json").is_file()):
            return None
        outcome.images.append(name)
        outcome.particles.append(_tag(pd.read_csv(table_path), name, job.sample))
        summary = json.loads((job.out_dir / name / "summary.json").read_text())
        outcome.rows.append(
            summary_row(name, outcome.particles[-1], pixel_size)
            | {"sample": job.sample}
            | quality_columns(summary)
        )
        outcome.lines.append((f"{name}: finished earlier, reused", False))
    return outcome


def _tag(table: pd.DataFrame, image: str, sample: str) -> pd.DataFrame:
    table = table.copy()
    table.insert(0, "image", image)
    table.insert(1, "sample", sample)
    return table


def analyze_file(job: FileJob) -> FileOutcome:
    """Analyse every image of one file into its folders; never raises (failures are returned)."""
    if job.resume and (previous := _resume(job)) is not None:
        return previous
    outcome = FileOutcome(str(job.path))
    pixel_sizes = []
    try:
        for micrograph in iter_micrographs(job.path, job.pixel_size_nm):
            name = job.stem + micrograph.name[len(job.path.stem) :]
            micrograph = dataclasses.replace(micrograph, name=name)  # unique in the run: a.dm3, a.dm4
            learned = job.settings.learns_outlines()
            resolved = resolve_particles(micrograph, job.settings)
            own_decoder = imaging_mode(resolved, micrograph.pixel_size_nm) is not None
            shape = _analysed_shape(micrograph, job.settings)
            too_big = too_big_reason(*shape, job.memory_mb, learned, own_decoder)
            if too_big:
                raise NanosizerError(too_big, job.path)
            result = analyze_micrograph(micrograph, job.settings, job.mask)
            summary = write_image_results(
                result, job.out_dir / name, job.tables, extra={"run_hash": job.run_hash}
            )
            outcome.images.append(name)
            outcome.particles.append(_tag(result.particles, name, job.sample))
            outcome.rows.append(
                summary_row(name, result.particles, summary["pixel_size_nm"])
                | {"sample": job.sample}
                | quality_columns(summary)
            )
            pixel_sizes.append(summary["pixel_size_nm"])
            outcome.lines.append(image_status(summary))
    except NanosizerError as exc:
        outcome.failure = exc.reason
    except Exception as exc:  # a batch must go on past anything one file does
        log.debug("unexpected error on %s", job.path, exc_info=True)
        outcome.failure = short_reason(exc)
    if outcome.failure is None:
        marker = {"source": str(job.path), "run_hash": job.run_hash, "images": outcome.images}
        write_text(marker_path(job), json.dumps(marker | {"pixel_sizes_nm": pixel_sizes}))
    return outcome


def _analysed_shape(micrograph, settings: Settings) -> tuple[int, int]:
    """Height and width of what will be analysed (the region of interest, when one is set)."""
    if settings.roi is None:
        return micrograph.data.shape
    rows, cols = roi_window(micrograph.data.shape, settings.roi)
    return rows.stop - rows.start, cols.stop - cols.start


def init_worker() -> None:
    """Pool workers share the cores: one inference thread each, in sessions opened here."""
    from .segment.network import set_inference_threads

    set_inference_threads(1)


def crashed(job: FileJob, why: str) -> FileOutcome:
    """The outcome of a file whose worker died twice on it."""
    return FileOutcome(str(job.path), failure=f"{why} (twice; the file was retried once in a fresh worker)")


# The spelling the CLI uses is "analyze"; the old name stays for a release.
analyse_file = analyze_file
