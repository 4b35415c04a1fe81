"""Files shipped inside the package: example micrographs (and the trained model)."""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).parent


def example_images() -> list[Path]:
    """The bundled example micrographs (synthetic, calibrated TIFFs with known truth)."""
    return sorted((DATA_DIR / "examples").glob("*.tif"))
