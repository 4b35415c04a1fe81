"""What a format reader hands back before the common clean-up in :mod:`nanosizer.io.read`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# What to do about a missing or unusable calibration, for CLI and Python users alike.
GIVE_PIXEL_SIZE = "give the pixel size (--pixel-size NM; pixel_size_nm= in Python)"


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


# What readers raise when a file ends early or its structure is damaged.
_TRUNCATION_SIGNS = (
    "unpack requires",
    "truncated",
    "incomplete",
    "corrupt",
    "unexpected end",
    "eof",
    "buffer",
)


def unreadable_reason(exc: BaseException, kind: str) -> str:
    """Why a file of ``kind`` (e.g. 'DM file') could not be read, in words a user can act on.

    A file cut short or damaged says so ("truncated or corrupt DM file"), whatever low-level
    error the library raised (``struct.error: unpack requires a buffer of 1 bytes``).
    """
    import struct
    import zlib

    detail = short_reason(exc)
    damaged = isinstance(exc, (EOFError, struct.error, zlib.error, MemoryError)) or any(
        sign in detail.lower() for sign in _TRUNCATION_SIGNS
    )
    if damaged:
        return f"truncated or corrupt {kind} ({detail})"
    return f"not a readable {kind} ({detail})"
