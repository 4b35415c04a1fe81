"""Run the pipeline over many files: expand inputs, go past bad files, write every output."""

from __future__ import annotations

import glob
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import NanosizerError, OutputExistsError, UnreadableImageError
from .io import IMAGE_SUFFIXES, iter_micrographs
from .pipeline import analyze_micrograph
from .report import write_image_results, write_run_tables
from .report.results import summary_row
from .settings import Settings

log = logging.getLogger("nanosizer")


@dataclass
class BatchReport:
    """What a batch did: images analysed, particles found, and the failures (file, reason)."""

    out_dir: Path
    images: list[str] = field(default_factory=list)
    particles: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)

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
                missing.append((str(path), "folder holds no image files"))
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


def prepare_output(out_dir: Path, overwrite: bool) -> None:
    """Refuse to write into a non-empty folder unless ``overwrite``."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputExistsError("output path exists and is not a folder", out_dir)
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise OutputExistsError("output folder is not empty; use --overwrite to replace results", out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)


def read_mask(path: str | Path) -> np.ndarray:
    """A binary mask from any image file we read: non-zero pixels are particles."""
    from .io.read import READERS, to_grey

    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None or not path.is_file():
        raise UnreadableImageError("mask file missing or of unknown type", path)
    frame = next(iter(reader(path)))
    return to_grey(frame.data) > 0


def run_batch(
    inputs: Iterable[str | Path],
    out_dir: str | Path,
    settings: Settings | None = None,
    pixel_size_nm: float | None = None,
    mask: str | Path | None = None,
    tables: tuple[str, ...] = ("csv", "xlsx"),
    overwrite: bool = False,
    progress: Callable[[Iterable], Iterable] | None = None,
    on_failure: Callable[[str, str], None] | None = None,
) -> BatchReport:
    """Analyse every image of ``inputs`` into ``out_dir``; bad files are listed, not fatal.

    Parameters
    ----------
    inputs : iterable of path
        Files, folders or glob patterns.
    out_dir : path
        Output folder (must be empty or absent unless ``overwrite``).
    settings : Settings
        Analysis settings.
    pixel_size_nm : float, optional
        Pixel size for all inputs (wins over file calibration).
    mask : path, optional
        Binary mask to measure instead of segmenting (only with a single input image).
    tables : tuple of {'csv', 'xlsx'}
        Table formats to write.
    overwrite : bool
        Allow writing into a non-empty output folder.
    progress : callable, optional
        Wraps the file list, e.g. ``tqdm``.
    on_failure : callable, optional
        Called with (file, reason) as each failure happens.
    """
    settings = settings or Settings()
    out_dir = Path(out_dir)
    prepare_output(out_dir, overwrite)
    files, failures = expand_inputs(inputs)
    for item in failures:
        if on_failure:
            on_failure(*item)
    report = BatchReport(out_dir, failures=list(failures))
    mask_array = None
    if mask is not None:
        if len(files) != 1:
            raise ValueError("--mask needs exactly one input image")
        mask_array = read_mask(mask)
    tables_per_image, rows, used = [], [], set()
    for path in progress(files) if progress else files:
        try:
            for micrograph in iter_micrographs(path, pixel_size_nm):
                result = analyze_micrograph(micrograph, settings, mask_array)
                name = _unique_name(micrograph.name, used)
                write_image_results(result, out_dir / name, tables)
                table = result.particles.copy()
                table.insert(0, "image", name)
                tables_per_image.append(table)
                rows.append(summary_row(name, result.particles, micrograph.pixel_size_nm))
                report.images.append(name)
                report.particles += len(table)
        except NanosizerError as exc:
            _fail(report, str(path), exc.reason, on_failure)
        except Exception as exc:  # a batch must go on past anything one file does
            log.debug("unexpected error on %s", path, exc_info=True)
            _fail(report, str(path), f"{type(exc).__name__}: {exc}", on_failure)
    write_run_tables(out_dir, tables_per_image, rows, settings.to_dict(), report.failures, tables)
    return report


def _fail(report: BatchReport, path: str, reason: str, callback) -> None:
    report.failures.append((path, reason))
    log.warning("%s: %s", path, reason)
    if callback:
        callback(path, reason)


def _unique_name(name: str, used: set[str]) -> str:
    candidate, k = name, 1
    while candidate in used:
        k += 1
        candidate = f"{name}-{k}"
    used.add(candidate)
    return candidate
