"""TIFF files through tifffile, with every calibration convention we know of.

Order of trust: FEI/Thermo ``PixelWidth``, Zeiss SEM ``Image Pixel Size``, ImageJ unit and
resolution, then the standard ResolutionUnit (inch, cm) as the ANTEMA routine reads it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import UnreadableImageError
from .frames import GIVE_PIXEL_SIZE, Frame, unreadable_reason
from .units import is_plausible_pixel_size, nm_per_unit


def read_tiff(path: Path) -> Iterator[Frame]:
    """Yield each 2-D frame of the first image series (RGB kept as (M, N, 3) for grey-conversion)."""
    import logging

    import tifffile

    # tifffile logs damaged tags as warnings of its own; the failure below says it in one line
    tifffile_log = logging.getLogger("tifffile")
    level = tifffile_log.level
    tifffile_log.setLevel(logging.CRITICAL)
    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            data = series.asarray()
            axes = series.axes
            pixel_nm, source, problem = _calibration(tif)
    except Exception as exc:
        raise UnreadableImageError(unreadable_reason(exc, "TIFF"), path) from exc
    finally:
        tifffile_log.setLevel(level)
    rgb = "S" in axes and data.shape[axes.index("S")] in (3, 4)
    if rgb:
        data = np.moveaxis(data, axes.index("S"), -1)
    plane_dims = 3 if rgb else 2
    if data.ndim == plane_dims:
        yield Frame(data, pixel_nm, source, "", problem)
        return
    frames = data.reshape((-1, *data.shape[-plane_dims:]))
    for k, frame in enumerate(frames):
        yield Frame(frame, pixel_nm, source, f"_f{k:04d}", problem)


def _calibration(tif) -> tuple[tuple[float, float] | None, str, str | None]:
    for reader in (_fei, _zeiss, _imagej, _resolution_unit):
        try:
            found = reader(tif)
        except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError):
            found = None
        if found is not None:
            pixel_nm, source = found
            if not all(is_plausible_pixel_size(p) for p in pixel_nm):
                return (
                    None,
                    source,
                    (
                        f"{source} gives {pixel_nm[1]:.4g} nm/px, not a plausible micrograph "
                        f"calibration (a display resolution?); {GIVE_PIXEL_SIZE}"
                    ),
                )
            return pixel_nm, source, None
    return None, "TIFF tags", f"has no spatial calibration; {GIVE_PIXEL_SIZE}"


def _fei(tif):
    meta = tif.fei_metadata
    if not meta:
        return None
    scan = meta.get("Scan") or meta.get("EScan") or {}
    px, py = float(scan["PixelWidth"]), float(scan.get("PixelHeight", scan["PixelWidth"]))
    if px <= 0:
        return None
    return (py * 1e9, px * 1e9), "FEI/Thermo metadata"


def _zeiss(tif):
    meta = tif.sem_metadata
    if not meta or "ap_image_pixel_size" not in meta:
        return None
    _, value, unit = meta["ap_image_pixel_size"][:3]
    factor = nm_per_unit(unit)
    if factor is None or float(value) <= 0:
        return None
    size = float(value) * factor
    return (size, size), "Zeiss SEM metadata"


def _resolution(page) -> tuple[float, float]:
    xres = page.tags["XResolution"].value
    yres = page.tags.get("YResolution")
    yres = yres.value if yres is not None else xres
    return xres[0] / xres[1], yres[0] / yres[1]


def _imagej(tif):
    meta = tif.imagej_metadata
    if not meta or "unit" not in meta:
        return None
    factor = nm_per_unit(meta["unit"])
    if factor is None:
        return None
    xres, yres = _resolution(tif.pages.first)  # pixels per unit
    if xres <= 0 or yres <= 0 or (xres == 1 and yres == 1 and meta["unit"] in ("", "pixel")):
        return None
    return (factor / yres, factor / xres), f"ImageJ calibration ({meta['unit']})"


def _resolution_unit(tif):
    page = tif.pages.first
    unit_tag = page.tags.get("ResolutionUnit")
    if unit_tag is None or "XResolution" not in page.tags:
        return None
    unit = {2: "inch", 3: "cm"}.get(int(unit_tag.value))
    if unit is None:
        return None
    xres, yres = _resolution(page)
    factor = nm_per_unit(unit)
    return (factor / yres, factor / xres), f"TIFF ResolutionUnit ({unit})"
