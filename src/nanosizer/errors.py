"""Errors that name the file and the problem, so a batch can report them in one line."""

from __future__ import annotations

from pathlib import Path


class NanosizerError(Exception):
    """Base class: a problem with one input that the user can act on.

    The message always says which file, what was found and, where possible, what to do.
    """

    def __init__(self, message: str, path: str | Path | None = None):
        self.path = None if path is None else str(path)
        self.reason = message
        super().__init__(f"{self.path}: {message}" if self.path else message)


class UnreadableImageError(NanosizerError, OSError):
    """The file is missing, truncated, empty or not an image format we read."""


class CalibrationError(NanosizerError, ValueError):
    """The pixel size is missing, in reciprocal space or implausible."""


class UnsupportedDataError(NanosizerError, ValueError):
    """The file holds data that is not a real-space image (spectrum, diffraction, 3-D volume)."""


class InvalidImageError(NanosizerError, ValueError):
    """The image can be read but cannot be analysed (constant, too small, not finite)."""


class OutputExistsError(NanosizerError, FileExistsError):
    """The output folder holds results and ``overwrite`` was not asked for."""


class OutputError(NanosizerError, OSError):
    """Results cannot be written where asked (read-only, not a folder, no space)."""
