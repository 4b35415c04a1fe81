"""Reporting: result folders, run tables, overlays, written atomically."""

from ..files import atomic_path, write_csv, write_json, write_labels_tiff, write_png, write_text, write_xlsx
from .images import overlay_image
from .results import write_image_results

__all__ = [
    "atomic_path",
    "overlay_image",
    "write_csv",
    "write_image_results",
    "write_json",
    "write_labels_tiff",
    "write_png",
    "write_text",
    "write_xlsx",
]
