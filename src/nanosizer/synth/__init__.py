"""Synthetic bright-field TEM micrographs of nanoparticles with exact ground truth."""

from __future__ import annotations

import numpy as np

from .generate import SynthImage, generate
from .presets import PRESETS, preset_params
from .scene import SceneParams
from .shapes import SHAPES, Particle
from .write import write_synth


def synth(
    preset: str = "overlap-low", rng: int | np.random.Generator | None = 0, size: int | None = None
) -> SynthImage:
    """One micrograph of a named preset; the same seed gives the same image and truth.

    Examples
    --------
    >>> from nanosizer.synth import synth
    >>> a, b = synth("pt-cubes", rng=3, size=256), synth("pt-cubes", rng=3, size=256)
    >>> bool((a.image == b.image).all())
    True
    """
    rng = np.random.default_rng(rng)
    return generate(preset_params(preset, rng, size), rng)


__all__ = [
    "PRESETS",
    "SHAPES",
    "Particle",
    "SceneParams",
    "SynthImage",
    "generate",
    "preset_params",
    "synth",
    "write_synth",
]
