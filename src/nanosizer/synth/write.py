"""Write a generated micrograph as a calibrated TIFF with its truth in ``truth/``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..files import atomic_path, write_csv, write_labels_tiff
from .generate import SynthImage


def write_synth(sample: SynthImage, out_dir: str | Path, name: str) -> Path:
    """Write ``<name>.tif`` (ImageJ-calibrated in nm) and ``truth/<name>_{labels.tif,mask.tif,
    particles.csv,full_masks.npz}``; returns the image path."""
    import tifffile

    out_dir = Path(out_dir)
    truth = out_dir / "truth"
    px = sample.pixel_size_nm
    image_path = out_dir / f"{name}.tif"
    with atomic_path(image_path) as tmp:
        tifffile.imwrite(
            tmp,
            sample.image,
            imagej=True,
            resolution=(1 / px, 1 / px),
            metadata={"unit": "nm"},
            compression="zlib",
        )
    write_labels_tiff(sample.labels, truth / f"{name}_labels.tif", px)
    write_labels_tiff(sample.mask.astype(np.uint8) * 255, truth / f"{name}_mask.tif", px)
    write_csv(sample.table, truth / f"{name}_particles.csv")
    arrays = {f"mask_{i}": r.mask for i, r in enumerate(sample.full_masks)}
    offsets = np.array([[r.top, r.left] for r in sample.full_masks], dtype=np.int64).reshape(-1, 2)
    with atomic_path(truth / f"{name}_full_masks.npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, offsets=offsets, **arrays)
    return image_path
