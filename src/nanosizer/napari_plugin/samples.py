"""The bundled example micrographs as napari sample data (calibrated, with known truth)."""

from __future__ import annotations

from ..data import DATA_DIR
from .reader import read_layers


def _example(stem: str) -> list[tuple]:
    return read_layers(DATA_DIR / "examples" / f"example_{stem}.tif")


def overlap_low() -> list[tuple]:
    """Spheres that touch and overlap a little (the overlap-low preset)."""
    return _example("overlap-low")


def pt_cubes() -> list[tuple]:
    """Pt nanocubes."""
    return _example("pt-cubes")


def ultrasmall_au() -> list[tuple]:
    """Ultrasmall Au particles."""
    return _example("ultrasmall-au")
