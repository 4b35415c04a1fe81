"""``nanosizer evaluate``: segment images, score them against reference masks, write the tables.

The metrics themselves are pure functions in :mod:`nanosizer.metrics`.
"""

from __future__ import annotations

import numpy as np

from .metrics import CLASSES, Confusion


def confusion_figure(confusion: Confusion, title: str = ""):
    """Matplotlib figure of the row-normalised confusion matrix (values printed in cells)."""
    from matplotlib.figure import Figure

    norm = confusion.normalised()
    fig = Figure(figsize=(3.8, 3.4), dpi=150)
    ax = fig.add_subplot()
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for t in range(2):
        for p in range(2):
            ax.text(
                p,
                t,
                f"{norm[t, p]:.3f}",
                ha="center",
                va="center",
                color="white" if norm[t, p] > 0.5 else "black",
            )
    ax.set_xticks([0, 1], CLASSES)
    ax.set_yticks([0, 1], CLASSES)
    ax.set_xlabel("predicted")
    ax.set_ylabel("reference")
    ax.set_title(title or "normalised confusion matrix", fontsize=9)
    fig.tight_layout()
    return fig


def evaluate_pairs(pairs, settings, pixel_size_nm=None, progress=None):
    """Segment every image and compare with its mask: (per-image rows, pooled Confusion, failures).

    A ``roi`` in the settings crops image and mask alike. Unreadable files are listed as
    failures and the rest goes on.
    """
    from .errors import NanosizerError
    from .io import iter_micrographs
    from .io.masks import read_mask
    from .pipeline import crop_to_roi, segment_micrograph

    rows, failures = [], []
    total = Confusion(np.zeros((2, 2), np.int64))
    for image, mask_path in progress(pairs) if progress else pairs:
        try:
            truth = read_mask(mask_path)
            for micrograph in iter_micrographs(image, pixel_size_nm):
                if truth.shape != micrograph.data.shape:
                    mh, mw = truth.shape
                    ih, iw = micrograph.data.shape
                    raise ValueError(
                        f"mask {mask_path.name} is {mh}x{mw} px but the image is {ih}x{iw} px: they "
                        "must match (masks drawn on these images, or both cut alike with --roi)"
                    )
                reference = truth if settings.roi is None else crop_to_roi(micrograph, settings.roi, truth)[1]
                confusion = Confusion.of(segment_micrograph(micrograph, settings), reference)
                total = total + confusion
                rows.append({"image": micrograph.name, "mask": mask_path.name, **confusion.metrics()})
        except NanosizerError as exc:
            failures.append((str(image), exc.reason))
        except (ValueError, OSError) as exc:
            failures.append((str(image), str(exc)))
    return rows, total, failures


def write_evaluation(out_dir, rows, total: Confusion | None, failures, title: str = "") -> None:
    """``metrics.csv`` (one row per image, then ALL), ``confusion.csv`` and ``confusion.png``;
    ``failures.csv`` when files failed. Without any evaluated image (``total`` None) only
    the failures are written: no metrics of nothing."""
    from pathlib import Path

    import pandas as pd

    from .files import atomic_path, write_csv

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if failures:
        write_csv(pd.DataFrame(failures, columns=["file", "reason"]), out_dir / "failures.csv")
    if total is None or not rows:
        return
    table = pd.DataFrame(rows + [{"image": "ALL (pooled pixels)", "mask": "", **total.metrics()}])
    write_csv(table, out_dir / "metrics.csv")
    frame = pd.DataFrame(
        total.normalised(),
        index=[f"reference_{c}" for c in CLASSES],
        columns=[f"predicted_{c}" for c in CLASSES],
    )
    write_csv(frame.reset_index(names="class"), out_dir / "confusion.csv")
    with atomic_path(out_dir / "confusion.png") as tmp:
        confusion_figure(total, title).savefig(tmp, format="png")
