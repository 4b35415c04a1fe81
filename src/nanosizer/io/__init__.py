"""Reading micrographs: DM3/DM4, TIFF (calibrated), PNG/JPEG (pixel size given)."""

from .micrograph import Micrograph
from .read import IMAGE_SUFFIXES, iter_micrographs, read_micrographs

__all__ = ["Micrograph", "IMAGE_SUFFIXES", "iter_micrographs", "read_micrographs"]
