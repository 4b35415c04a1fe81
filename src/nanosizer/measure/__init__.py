"""Measuring particles: size, Feret diameters and shape, per particle and in nm."""

from .feret import feret_diameters
from .geometry import contour_geometry
from .table import COLUMNS, SUMMARY_MEASURES, describe_measures, empty_table, measure_labels, measure_regions

__all__ = [
    "COLUMNS",
    "SUMMARY_MEASURES",
    "contour_geometry",
    "describe_measures",
    "empty_table",
    "feret_diameters",
    "measure_labels",
    "measure_regions",
]
