"""npe2 reader: micrographs through nanosizer's own readers, with the pixel size as the layer
scale and nm as its unit (napari's scale bar and rulers then read nm)."""

from __future__ import annotations

from pathlib import Path

from ..errors import CalibrationError
from ..io import IMAGE_SUFFIXES, Micrograph, read_micrographs

METADATA_KEY = "nanosizer"  # the layer metadata entry the widget reads the micrograph's record from


def get_reader(path):
    """The reader function for ``path`` when nanosizer reads its type, else None (npe2 contract)."""
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    if not paths or any(Path(p).suffix.lower() not in IMAGE_SUFFIXES for p in paths):
        return None
    return read_layers


def read_layers(path) -> list[tuple]:
    """One image layer per 2-D image in the file(s) (stack frames, several DM objects).

    A file without a pixel size (a plain PNG) opens in pixels, with a note in its metadata: give
    the pixel size in the widget before analysing. Other problems raise nanosizer's error that
    names the file and the problem.
    """
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    layers = []
    for one in paths:
        try:
            micrographs, calibrated = read_micrographs(one), True
        except CalibrationError:
            micrographs, calibrated = read_micrographs(one, 1.0), False
        layers += [image_layer_data(m, calibrated) for m in micrographs]
    return layers


def image_layer_data(micrograph: Micrograph, calibrated: bool = True) -> tuple:
    """napari layer data ``(data, kwargs, 'image')`` of a micrograph: scale = pixel size in nm."""
    record = {
        "name": micrograph.name,
        "source": str(micrograph.path) if micrograph.path else None,
        "pixel_size_nm": micrograph.pixel_size_nm if calibrated else None,
        "pixel_size_source": micrograph.pixel_size_source if calibrated else None,
        "notes": list(micrograph.notes),
        "metadata": dict(micrograph.metadata),
    }
    if not calibrated:
        record["notes"].append("no pixel size in the file: shown in pixels; give the pixel size to analyse")
    px = micrograph.pixel_size_nm if calibrated else 1.0
    kwargs = {
        "name": micrograph.name,
        "scale": (px, px),
        "units": ("nm", "nm") if calibrated else ("pixel", "pixel"),
        "colormap": "gray",
        "metadata": {METADATA_KEY: record},
    }
    return (micrograph.data, kwargs, "image")


def micrograph_from_layer(data, metadata: dict, pixel_size_nm: float) -> Micrograph:
    """The :class:`~nanosizer.io.Micrograph` of an image layer's data, with its record from
    the reader when it has one, at the pixel size the widget was given."""
    record = (metadata or {}).get(METADATA_KEY, {})
    source = record.get("source")
    given = record.get("pixel_size_nm")
    same = given is not None and abs(given - pixel_size_nm) <= 1e-9 * given
    return Micrograph(
        data=data,
        pixel_size_nm=float(pixel_size_nm),
        pixel_size_source=record.get("pixel_size_source") if same else "napari widget",
        name=record.get("name") or "image",
        path=Path(source) if source else None,
        notes=list(record.get("notes", [])),
        metadata=dict(record.get("metadata", {})),
    )
