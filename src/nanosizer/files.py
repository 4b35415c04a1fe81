"""Files on disk, written atomically (a temporary file beside the target, then renamed over):
text, JSON, CSV, XLSX, PNG and calibrated label TIFFs. A core module: the report, the
synthetic data writer and the batch all write through it.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success it replaces ``target``.

    A crash or an exception leaves any previous file untouched and no partial file behind.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp" + target.suffix, dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; results are for sharing
        os.replace(tmp_path, target)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def ensure_writable(folder: str | Path) -> Path:
    """Create ``folder`` if needed and check that files can be written in it.

    Raises :class:`~nanosizer.errors.OutputError` naming the folder and the system's reason
    (e.g. read-only file system) before any work is done, so nothing is half written.
    """
    from .errors import OutputError

    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".nanosizer-write-check.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"cannot write results here ({exc.strerror or exc})", folder) from None
    return folder


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(target: str | Path, text: str) -> None:
    """Write a UTF-8 text file atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_csv(table: pd.DataFrame, target: str | Path) -> None:
    """CSV with a header row, no index, full float precision."""
    with atomic_path(target) as tmp:
        table.to_csv(tmp, index=False)


def write_xlsx(sheets: dict[str, pd.DataFrame], target: str | Path) -> None:
    """One workbook, one sheet per table (sheet names as given)."""
    import pandas as pd

    with atomic_path(target) as tmp:
        with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            for name, table in sheets.items():
                table.to_excel(writer, sheet_name=name[:31], index=False)


def write_json(data: dict, target: str | Path, indent: int | None = 2) -> None:
    """JSON (pretty unless ``indent`` is None); NumPy scalars and arrays become plain numbers and
    lists, NaN and infinities ``null`` (a bare NaN is not JSON: browsers' JSON.parse refuses it)."""
    text = json.dumps(_finite(data), indent=indent, default=_plain, ensure_ascii=False, allow_nan=False)
    write_text(target, text + "\n")


def _finite(value):
    """``value`` with every non-finite float (Python or NumPy, at any depth) made None."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, np.ndarray):
        return _finite(value.tolist())
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    return value


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):  # arrays never get here: _finite made them lists
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def write_labels_tiff(labels: np.ndarray, target: str | Path, pixel_size_nm: float) -> None:
    """Instance labels as an ImageJ-calibrated TIFF (nm), so ImageJ and nanosizer read the scale."""
    import tifffile

    with atomic_path(target) as tmp:
        tifffile.imwrite(
            tmp,
            labels,
            imagej=True,
            resolution=(1 / pixel_size_nm, 1 / pixel_size_nm),
            metadata={"unit": "nm"},
            compression="zlib",
        )


def write_png(image: np.ndarray, target: str | Path) -> None:
    """An 8-bit grey or RGB PNG (an RGB of greys and a few colours, as overlays are, is
    written with a palette: a third of the bytes to compress, the same picture)."""
    from PIL import Image

    picture = _palette_image(image) if image.ndim == 3 else None
    if picture is None:
        picture = Image.fromarray(np.ascontiguousarray(image))
    with atomic_path(target) as tmp:
        # Fast zlib level: level 6 costs ~0.7 s on a 2048² overlay for a few % smaller files.
        picture.save(tmp, format="PNG", compress_level=1)


def split_greys(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The grey pixels of an RGB image (mask), its other colours (k, 3) and, for each
    non-grey pixel in row-major order, the index of its colour: how overlays are coded."""
    grey = (rgb[..., 0] == rgb[..., 1]) & (rgb[..., 1] == rgb[..., 2])
    colours, inverse = np.unique(rgb[~grey], axis=0, return_inverse=True)
    return grey, colours, inverse.ravel()


def _palette_image(rgb: np.ndarray, max_colours: int = 8):
    """A palette ('P') image of an RGB array of greys plus at most ``max_colours`` colours
    (greys kept to 248 levels or more), or None when it has more colours."""
    from PIL import Image

    grey, colours, inverse = split_greys(rgb)
    if len(colours) > max_colours:
        return None
    levels = 256 - len(colours)
    index = ((rgb[..., 0].astype(np.uint32) * (levels - 1) + 127) // 255).astype(np.uint8)
    index[~grey] = levels + inverse
    greys = np.round(np.arange(levels) * 255 / (levels - 1)).astype(np.uint8)
    palette = np.concatenate([np.repeat(greys[:, None], 3, axis=1), colours.astype(np.uint8)])
    picture = Image.fromarray(index, mode="P")
    picture.putpalette(palette.ravel().tolist())
    return picture
