"""Reporting: result folders, run tables, overlays, written atomically."""

from .atomic import atomic_path, write_text
from .images import overlay_image, write_labels_tiff, write_png
from .results import write_image_results
from .tables import write_csv, write_json, write_xlsx

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
