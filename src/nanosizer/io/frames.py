"""What a format reader hands back before the common clean-up in :mod:`nanosizer.io.read`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Frame:
    """One 2-D image as stored, with its per-axis calibration (None when the file has none).

    ``pixel_nm`` is (row, column) in nm; ``suffix`` is appended to the file stem to name it.
    ``problem`` holds why the calibration cannot be used (e.g. reciprocal space), which becomes
    an error unless the user gives the pixel size.
    """

    data: np.ndarray
    pixel_nm: tuple[float, float] | None
    source: str
    suffix: str = ""
    problem: str | None = None
    metadata: dict = field(default_factory=dict)


def short_reason(exc: BaseException) -> str:
    """First line of an exception's message (or its type), at most 200 characters."""
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]
