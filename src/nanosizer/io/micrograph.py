"""The one record every reader returns: pixels, pixel size in nm, and where it came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Micrograph:
    """A 2-D real-space image with square pixels.

    Attributes
    ----------
    data : (M, N) ndarray
        Grey values in the stored dtype (RGB already converted to grey).
    pixel_size_nm : float
        Edge length of one (square) pixel in nm.
    pixel_size_source : str
        Where the pixel size came from, e.g. ``'DM calibration (µm)'`` or ``'--pixel-size'``.
    name : str
        Output stem: the file stem, with ``_f0003`` for frame 3 of a stack.
    path : Path or None
        Source file, None for arrays given directly.
    notes : list of str
        Things done to the data that a user should know (resampling, RGB to grey...).
    metadata : dict
        Selected original metadata (microscope, voltage...), JSON-serialisable.
    """

    data: np.ndarray
    pixel_size_nm: float
    pixel_size_source: str
    name: str
    path: Path | None = None
    notes: list[str] = field(default_factory=list)
    metadata: dict = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        return self.data.shape
