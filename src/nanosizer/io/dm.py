"""Gatan DigitalMicrograph .dm3/.dm4 files through RosettaSciIO."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import UnreadableImageError, UnsupportedDataError
from .frames import GIVE_PIXEL_SIZE, Frame, unreadable_reason
from .units import is_reciprocal, nm_per_unit

_SPECTRAL_UNITS = {"ev", "kev", "mev"}


def read_dm(path: Path) -> Iterator[Frame]:
    """Yield every 2-D real-space image (and every frame of a stack) in a DM file.

    Spectra and line plots are skipped; a file holding nothing else raises
    :class:`UnsupportedDataError`. Axis scales in Å, pm, µm... are converted to nm.
    """
    from rsciio.digitalmicrograph import file_reader

    try:
        objects = file_reader(str(path))
    except Exception as exc:  # rsciio raises many types for broken files
        raise UnreadableImageError(unreadable_reason(exc, "DM file"), path) from exc
    images = [obj for obj in objects if _signal_dims(obj) == 2]
    if not images:
        kinds = ", ".join(_describe(obj) for obj in objects) or "no data"
        raise UnsupportedDataError(f"holds no 2-D image ({kinds}); nothing to analyse", path)
    for index, obj in enumerate(images):
        obj_suffix = f"_o{index}" if len(images) > 1 else ""
        yield from _frames_of(obj, obj_suffix)


def _signal_axes(obj: dict) -> list[dict]:
    return [ax for ax in obj["axes"] if not ax.get("navigate", False)]


def _signal_dims(obj: dict) -> int:
    axes = _signal_axes(obj)
    if any(str(ax.get("units", "")).strip().lower() in _SPECTRAL_UNITS for ax in axes):
        return 1
    return sum(1 for ax in axes if ax.get("size", 1) > 1)


def _describe(obj: dict) -> str:
    signal = (obj.get("metadata", {}).get("Signal", {}) or {}).get("signal_type") or ""
    dims = _signal_dims(obj)
    if signal:
        return f"a {signal} spectrum"
    return "a spectrum or line plot" if dims == 1 else f"{dims}-D data"


def _frames_of(obj: dict, obj_suffix: str) -> Iterator[Frame]:
    rgb = bool(np.asarray(obj["data"]).dtype.names)
    data = _to_plain_array(obj["data"])
    axes = _signal_axes(obj)
    (row_ax, col_ax) = axes[-2:]
    pixel_nm, problem, source = _calibration(row_ax, col_ax)
    meta = _microscope_metadata(obj)
    plane_dims = 3 if rgb else 2
    if data.ndim == plane_dims:
        yield Frame(data, pixel_nm, source, obj_suffix, problem, meta)
        return
    frames = data.reshape((-1, *data.shape[-plane_dims:]))
    for k, frame in enumerate(frames):
        yield Frame(frame, pixel_nm, source, f"{obj_suffix}_f{k:04d}", problem, meta)


def _calibration(row_ax: dict, col_ax: dict):
    scales = []
    for ax in (row_ax, col_ax):
        unit = str(ax.get("units", "") or "").strip()
        scale = float(ax.get("scale", 1.0))
        if is_reciprocal(unit):
            return (
                None,
                (
                    f"calibrated in {unit} (reciprocal space: a diffraction pattern?); particle "
                    f"analysis needs a real-space image. To analyse it anyway, {GIVE_PIXEL_SIZE}"
                ),
                "DM calibration",
            )
        factor = nm_per_unit(unit)
        if factor is None or scale <= 0:
            why = f"unit {unit!r}" if unit else "no length unit"
            return None, f"has no spatial calibration ({why}); {GIVE_PIXEL_SIZE}", "DM calibration"
        scales.append((scale * factor, unit))
    units = "/".join(sorted({u for _, u in scales}))
    return (scales[0][0], scales[1][0]), None, f"DM calibration ({units})"


def _to_plain_array(data: np.ndarray) -> np.ndarray:
    data = np.asarray(data)
    if data.dtype.names:  # RGB(A) stored as a structured dtype
        fields = [f for f in ("R", "G", "B") if f in data.dtype.names]
        if len(fields) == 3:
            return np.stack([data[f] for f in fields], axis=-1)
        return np.asarray(data[data.dtype.names[0]])
    return data


def _microscope_metadata(obj: dict) -> dict:
    acq = obj.get("metadata", {}).get("Acquisition_instrument", {}) or {}
    tem = acq.get("TEM", {}) or {}
    keep = {}
    for key in ("beam_energy", "magnification", "microscope", "acquisition_mode"):
        if key in tem and isinstance(tem[key], (str, int, float)):
            keep[key] = tem[key]
    title = obj.get("metadata", {}).get("General", {}).get("title")
    if title:
        keep["title"] = str(title)
    detector = _detector_text(obj.get("original_metadata", {}), str(title or ""))
    if detector:
        keep["detector"] = detector
    return keep


_DETECTOR_KEYS = ("detector", "signal name", "signal", "imaging mode", "mode", "original name")


def _detector_text(original: dict, title: str) -> str | None:
    """The first text naming the imaging detector: the title, or a detector/signal-name entry
    anywhere in the DM tag tree (e.g. 'JEOL HAADF Image', 'Fei HAADF'), when it names one."""
    from .detector import names_detector

    if names_detector(title):
        return title
    stack = [original]
    while stack:
        node = stack.pop()
        for key, value in node.items():
            if isinstance(value, dict):
                stack.append(value)
            elif (
                isinstance(value, str)
                and str(key).strip().lower() in _DETECTOR_KEYS
                and names_detector(value)
            ):
                return value
    return None
