"""Reference and user masks: binary particle maps read from any image file, paired with images."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import UnreadableImageError


def read_mask(path: str | Path) -> np.ndarray:
    """A binary mask from any image file we read: non-zero pixels are particles."""
    from .read import READERS, to_grey

    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None or not path.is_file():
        raise UnreadableImageError("mask file missing or of unknown type", path)
    frame = next(iter(reader(path)))
    return to_grey(frame.data) > 0


def match_masks(images, masks) -> list[tuple[Path, Path]]:
    """Pair image files with reference masks: same stem, or a mask stem that starts with it.

    Raises ValueError naming the first image without a mask (or with several).
    """
    masks = [Path(m) for m in masks]
    pairs = []
    for image in map(Path, images):
        same = [m for m in masks if m.stem == image.stem]
        prefixed = [m for m in masks if m.stem.startswith(image.stem)]
        found = same or prefixed
        if len(found) != 1:
            problem = "no reference mask" if not found else f"{len(found)} candidate masks"
            raise ValueError(f"{image}: {problem} named {image.stem}* among the masks")
        pairs.append((image, found[0]))
    return pairs
