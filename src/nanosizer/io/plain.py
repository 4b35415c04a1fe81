"""PNG, JPEG, BMP and other uncalibrated raster images through Pillow."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import UnreadableImageError
from .frames import GIVE_PIXEL_SIZE, Frame, unreadable_reason


def read_plain(path: Path) -> Iterator[Frame]:
    """Yield each frame of a raster image; these formats carry no pixel size."""
    from PIL import Image, ImageSequence

    try:
        with Image.open(path) as im:
            frames = [_to_array(frame) for frame in ImageSequence.Iterator(im)]
    except Exception as exc:
        raise UnreadableImageError(unreadable_reason(exc, "image"), path) from exc
    problem = f"{path.suffix.lower() or 'this'} files carry no pixel size; {GIVE_PIXEL_SIZE}"
    for k, data in enumerate(frames):
        suffix = f"_f{k:04d}" if len(frames) > 1 else ""
        yield Frame(data, None, "none in file", suffix, problem)


def _to_array(frame) -> np.ndarray:
    if frame.mode in ("P", "PA", "LA", "1", "CMYK", "YCbCr", "HSV"):
        frame = frame.convert("RGBA" if "A" in frame.mode else "RGB")
    if frame.mode == "I;16B":
        frame = frame.convert("I;16")
    return np.asarray(frame)
