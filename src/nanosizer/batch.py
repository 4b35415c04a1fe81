"""Run the pipeline over many files: expand inputs, go past bad files, write every output.

Each input file is one job (:func:`nanosizer.jobs.analyze_file`): it writes its images' folders itself and
returns only their small particle tables, so the parent never holds label images and memory
stays flat on long series. Jobs run in this process, in a local process pool
(``workers``) or on a Dask cluster, and the results are gathered in input order, so every
engine writes the same tables. ``resume`` skips files whose outputs exist for the same
settings and model.
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import OutputExistsError
from .files import ensure_writable
from .io import IMAGE_SUFFIXES
from .io.masks import read_mask
from .jobs import FileJob, FileOutcome, analyze_file, crashed, init_worker, marker_path
from .memory import available_mb, plan_workers
from .pipeline import model_provenance
from .report.run import write_run_outputs
from .settings import Settings

log = logging.getLogger("nanosizer")


class BatchInterrupted(Exception):
    """Ctrl-C during a batch: ``done`` of ``total`` files finished (their outputs complete)."""

    def __init__(self, done: int, total: int, out_dir: Path):
        self.done, self.total, self.out_dir = done, total, out_dir
        super().__init__(f"interrupted after {done} of {total} file(s); rerun with --resume to finish")


@dataclass
class BatchReport:
    """What a batch did: images analysed, particles found, and the failures (file, reason)."""

    out_dir: Path
    images: list[str] = field(default_factory=list)
    particles: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    resumed: int = 0
    left_out: list[str] = field(default_factory=list)  # unreliable images kept out of the statistics

    @property
    def ok(self) -> bool:
        return not self.failures


def expand_inputs(paths: Iterable[str | Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Files from files, folders (their images, sorted) and glob patterns.

    Returns the files and, for inputs that match nothing, (input, reason) failures.
    """
    files: list[Path] = []
    missing: list[tuple[str, str]] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                nested = [d.name for d in sorted(path.iterdir()) if d.is_dir() and _holds_images(d)]
                why = "folder holds no image files"
                if nested:
                    some = ", ".join(nested[:3]) + (", ..." if len(nested) > 3 else "")
                    why += (
                        f", but its subfolders do ({some}): pass them, e.g. '{path}/*/', with "
                        "--sample-by-folder for one sample each"
                    )
                missing.append((str(path), why))
            files.extend(found)
        elif path.exists():
            files.append(path)
        elif glob.has_magic(str(item)):
            found = sorted(Path(p) for p in glob.glob(str(item), recursive=True) if Path(p).is_file())
            if not found:
                missing.append((str(item), "pattern matches no file"))
            files.extend(found)
        else:
            missing.append((str(item), "no such file or folder"))
    unique = list(dict.fromkeys(files))
    return unique, missing


def _holds_images(folder: Path) -> bool:
    return any(p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES for p in folder.iterdir())


def prepare_output(out_dir: Path, overwrite: bool) -> None:
    """Refuse to write into a non-empty folder unless ``overwrite`` (or resuming)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputExistsError("output path exists and is not a folder", out_dir)
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise OutputExistsError(
            "output folder is not empty; use --overwrite to replace results or --resume to finish them",
            out_dir,
        )
    ensure_writable(out_dir)


def run_hash(settings: Settings, pixel_size_nm: float | None = None, mask: np.ndarray | None = None) -> str:
    """What makes results reusable: the settings (region of interest and polarity included),
    ``--pixel-size``, the given mask and, for the network, the model's SHA-256: ``--resume``
    reuses a file's results only when all of them are the same.

    Opening the model here, once, in the parent also checks it up front: a broken or missing
    model is one clear error naming the model, not a failure per image in every worker.
    """
    model = model_provenance(settings)
    mask_digest = (
        None if mask is None else hashlib.sha256(np.ascontiguousarray(mask, bool).tobytes()).hexdigest()
    )
    record = {
        "settings": settings.to_dict(),
        "model": model and model["sha256"],
        "pixel_size_nm": pixel_size_nm,
        "mask": mask_digest and (list(np.shape(mask)), mask_digest),
    }
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:16]


def _sample_of(path: Path, opts: BatchOptions, out_dir: Path) -> str:
    """The sample an image file belongs to: its own (``sample_by_file``), its folder's
    (``sample_by_folder``), the one named, else the output folder's name."""
    if opts.sample_by_file:
        return path.stem
    if opts.sample_by_folder:
        return path.parent.name
    return opts.sample or out_dir.name


def _unique_stems(files: list[Path]) -> list[str]:
    used: set[str] = set()
    stems = []
    for path in files:
        candidate, k = path.stem, 1
        while candidate in used:
            k += 1
            candidate = f"{path.stem}-{k}"
        used.add(candidate)
        stems.append(candidate)
    return stems


def _outcomes(
    jobs: list[FileJob],
    workers: int,
    scheduler: str | None,
    timeout_s: float = 10.0,
    on_retry: Callable | None = None,
) -> Iterable[FileOutcome]:
    """Run the jobs here, in a process pool or on Dask; yield outcomes in input order.

    A pool worker that dies costs only its file: the jobs it held are retried alone in a
    fresh worker (``on_retry(job, why)`` is told), a second death makes the file a failure.
    """
    if scheduler is not None:
        from .cluster import dask_outcomes

        yield from dask_outcomes(jobs, scheduler, workers, timeout_s)
    elif workers > 1 and len(jobs) > 1:
        from .pool import resilient_map

        yield from resilient_map(
            analyze_file, jobs, min(workers, len(jobs)), init_worker, crashed, on_retry=on_retry
        )
    else:
        for job in jobs:
            yield analyze_file(job)


@dataclass(frozen=True)
class BatchOptions:
    """How a batch runs, apart from the analysis settings (:class:`~nanosizer.settings.Settings`).

    Attributes
    ----------
    pixel_size_nm : float, optional
        Pixel size for all inputs (wins over file calibration).
    mask : path, optional
        Binary mask to measure instead of segmenting (only with a single input image).
    tables : tuple of {'csv', 'xlsx'}
        Table formats to write.
    overwrite : bool
        Allow writing into a non-empty output folder.
    workers : int
        Processes on this machine (1: in this process).
    scheduler : str, optional
        ``'local'`` for a Dask cluster started here, or the address of a running scheduler.
    scheduler_timeout_s : float
        How long to wait for a running scheduler to answer before giving up with the reason.
    resume : bool
        Reuse the outputs of files already finished with the same settings and model.
    sample : str, optional
        Sample name of every image (default: the output folder's name).
    sample_by_folder : bool
        Each file's folder name is its sample.
    report : bool
        Write statistics, plots and ``report.html`` for the run.
    command : str, optional
        The command line that started the run, for the report (default: the Python API).
    max_memory_mb : float, optional
        Memory the run may use (default: what the system has available at the start). Fewer
        workers run when the largest image would not fit each one; an image that does not
        fit one worker is refused with the estimate (see :mod:`nanosizer.memory`).
    """

    pixel_size_nm: float | None = None
    mask: str | Path | None = None
    tables: tuple[str, ...] = ("csv", "xlsx")
    overwrite: bool = False
    workers: int = 1
    scheduler: str | None = None
    scheduler_timeout_s: float = 10.0
    resume: bool = False
    sample: str | None = None
    sample_by_folder: bool = False
    sample_by_file: bool = False  # each file its own sample (the demo's three materials)
    report: bool = True
    keep_unreliable: bool = False  # pool images judged unreliable too (nanosizer.quality)
    command: str | None = None
    max_memory_mb: float | None = None


def run_batch(
    inputs: Iterable[str | Path],
    out_dir: str | Path,
    settings: Settings | None = None,
    options: BatchOptions | None = None,
    *,
    progress: Callable | None = None,
    on_failure: Callable[[str, str], None] | None = None,
    on_message: Callable[[str, bool], None] | None = None,
    **option_values,
) -> BatchReport:
    """Analyse every image of ``inputs`` into ``out_dir``; bad files are listed, not fatal.

    Parameters
    ----------
    inputs : iterable of path
        Files, folders or glob patterns.
    out_dir : path
        Output folder (must be empty or absent unless ``overwrite`` or ``resume``).
    settings : Settings
        Analysis settings.
    options : BatchOptions, optional
        How the batch runs; any of its fields may also be given as a keyword
        (``run_batch(..., workers=2, report=False)``).
    progress : callable, optional
        ``progress(total)`` returns a bar with ``update(n)`` and ``set_postfix(**kw)`` (tqdm).
    on_failure : callable, optional
        Called with (file, reason) as each failure happens.
    on_message : callable, optional
        Called with (text, is_warning) for each finished image ("N particles, M regions
        excluded ...") and for the run's last stage (tables, plots, report).
    """
    settings = settings or Settings()
    opts = dataclasses.replace(options or BatchOptions(), **option_values)
    out_dir = Path(out_dir)
    existed = out_dir.is_dir()
    prepare_output(out_dir, opts.overwrite or opts.resume)
    files, failures = expand_inputs(inputs)
    for item in failures:
        if on_failure:
            on_failure(*item)
    batch = BatchReport(out_dir, failures=list(failures))
    mask_array = None
    if opts.mask is not None:
        if len(files) != 1:
            raise ValueError("a mask needs exactly one input image")
        mask_array = read_mask(opts.mask)
    fingerprint = run_hash(settings, opts.pixel_size_nm, mask_array)
    budget, workers = opts.max_memory_mb or available_mb(), opts.workers
    if opts.scheduler is None:  # a Dask cluster's workers have their own memory
        # 'auto' may find dark-field detectors or finely sampled (phase-contrast) images
        own_decoder = settings.particles != "dark" or settings.phase_contrast != "off"
        workers, fewer = plan_workers(files, workers, budget, settings.learns_outlines(), own_decoder)
        if fewer and on_message:
            on_message(fewer, True)
    else:
        budget = None
    jobs = [
        FileJob(
            path=path,
            out_dir=out_dir,
            stem=stem,
            sample=_sample_of(path, opts, out_dir),
            settings=settings,
            pixel_size_nm=opts.pixel_size_nm,
            mask=mask_array,
            tables=opts.tables,
            resume=opts.resume,
            run_hash=fingerprint,
            memory_mb=None if budget is None else budget / max(1, workers),
        )
        for path, stem in zip(files, _unique_stems(files), strict=True)
    ]
    bar = progress(len(jobs)) if progress else None
    particles, rows = [], []

    def on_retry(job, why):
        if on_message:
            on_message(f"{job.path}: in flight when its pool broke ({why}); retrying it alone", True)

    outcomes = _outcomes(jobs, workers, opts.scheduler, opts.scheduler_timeout_s, on_retry)
    done = 0
    try:
        for outcome in outcomes:
            done += 1
            _gather(batch, outcome, particles, rows, on_failure, on_message, bar)
    except KeyboardInterrupt:
        from .pool import first_interrupt_only

        first_interrupt_only()
        outcomes.close()  # ends the workers now
        finished = sum(1 for job in jobs if marker_path(job).is_file())  # also those not yet gathered
        raise BatchInterrupted(max(done, finished), len(jobs), out_dir) from None
    finally:
        if bar is not None:
            bar.close()
    if not batch.images:  # nothing analysed: no empty report, tables or folder to trip the rerun
        if not existed and not any(out_dir.iterdir()):
            out_dir.rmdir()
        if on_message:
            on_message(f"no image was analysed; nothing written to {out_dir}", True)
        return batch
    settings_record = settings.to_dict() | {"run_hash": fingerprint}
    if on_message:
        what = "tables, plots and report.html" if opts.report else "tables"
        on_message(f"writing the run's {what} to {out_dir} ...", False)
    batch.left_out = write_run_outputs(
        out_dir,
        particles,
        rows,
        settings_record,
        batch.failures,
        opts.tables,
        opts.report,
        run_provenance(settings, opts.command),
        keep_unreliable=opts.keep_unreliable,
    )
    if batch.left_out and on_message:
        on_message(
            f"{len(batch.left_out)} unreliable image(s) left out of the sample statistics: "
            f"{', '.join(batch.left_out)} (see report.html; --keep-unreliable takes them in)",
            True,
        )
    return batch


def _gather(batch, outcome, particles, rows, on_failure, on_message, bar) -> None:
    """Take one file's outcome into the batch: failures, status lines, tables, progress."""
    if outcome.failure is not None:
        _fail(batch, outcome.path, outcome.failure, on_failure)
    for text, warning in outcome.lines:
        if on_message:
            on_message(text, warning)
    batch.images += outcome.images
    batch.resumed += int(outcome.resumed)
    particles += outcome.particles
    rows += outcome.rows
    batch.particles += sum(len(t) for t in outcome.particles)
    if bar is not None:
        bar.update(1)
        bar.set_postfix(images=len(batch.images), particles=batch.particles)


def run_provenance(settings: Settings, command: str | None = None) -> dict:
    """How a run was made, for the head of its report: version, model, date, command."""
    import datetime

    from . import __version__

    model = model_provenance(settings)
    out = {"nanosizer": __version__}
    if model:
        out["model"] = f"{model['file']} (SHA-256 {model['sha256'][:16]}…)"
    out["date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out["command"] = command or "Python API (nanosizer.batch.run_batch)"
    return out


def _fail(report: BatchReport, path: str, reason: str, callback) -> None:
    report.failures.append((path, reason))
    log.warning("%s: %s", path, reason)
    if callback:
        callback(path, reason)
