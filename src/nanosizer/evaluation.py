"""Segmentation quality against reference masks: the metrics the ANTEMA paper reports.

Global accuracy, per-class accuracy, IoU and Dice for background and particle, and the
confusion matrix normalised per true class. Pooled over a set of images the confusion counts
are summed first (every pixel weighs the same), as is usual for semantic segmentation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CLASSES = ("background", "particle")


@dataclass(frozen=True)
class Confusion:
    """Pixel counts: ``counts[true, predicted]`` with 0 = background, 1 = particle."""

    counts: np.ndarray

    @classmethod
    def of(cls, predicted: np.ndarray, truth: np.ndarray) -> Confusion:
        predicted, truth = np.asarray(predicted, bool), np.asarray(truth, bool)
        if predicted.shape != truth.shape:
            raise ValueError(f"prediction shape {predicted.shape} differs from reference {truth.shape}")
        index = truth.ravel().astype(np.int64) * 2 + predicted.ravel()
        return cls(np.bincount(index, minlength=4).reshape(2, 2))

    def __add__(self, other: Confusion) -> Confusion:
        return Confusion(self.counts + other.counts)

    def normalised(self) -> np.ndarray:
        """Each row (true class) divided by its total (an empty row stays 0), for tables and plots."""
        return self.counts / np.maximum(self.counts.sum(axis=1, keepdims=True), 1)

    def metrics(self) -> dict:
        """Global and per-class accuracy, IoU and Dice, and the normalised confusion matrix."""
        c = self.counts.astype(float)
        tp = np.diag(c)
        true_total, pred_total = c.sum(axis=1), c.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            recall = tp / true_total
            iou = tp / (true_total + pred_total - tp)
            dice = 2 * tp / (true_total + pred_total)
            normalised = c / true_total[:, None]
        out = {"global_accuracy": float(tp.sum() / c.sum()), "mean_class_accuracy": float(np.nanmean(recall))}
        for k, name in enumerate(CLASSES):
            out[f"accuracy_{name}"] = float(recall[k])
            out[f"iou_{name}"] = float(iou[k])
            out[f"dice_{name}"] = float(dice[k])
        out["mean_iou"] = float(np.nanmean(iou))
        for t, tname in enumerate(CLASSES):
            for p, pname in enumerate(CLASSES):
                out[f"confusion_{tname}_as_{pname}"] = float(normalised[t, p])
        return out


def matched_instances(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Pairs (predicted label, true label) whose IoU exceeds 0.5, from two instance label images.

    Above 0.5 a match is necessarily one-to-one, so no assignment step is needed. Where a
    label image paints overlapping particles, IoU is over the painted (visible) pixels.

    Returns
    -------
    (k, 2) int64 ndarray, sorted by predicted label.
    """
    predicted, truth = np.asarray(predicted, np.int64), np.asarray(truth, np.int64)
    if predicted.shape != truth.shape:
        raise ValueError(f"prediction shape {predicted.shape} differs from reference {truth.shape}")
    n_pred, n_truth = int(predicted.max()) + 1, int(truth.max()) + 1
    both = (predicted > 0) & (truth > 0)
    pairs = predicted[both] * n_truth + truth[both]
    keys, inter = np.unique(pairs, return_counts=True)
    p, t = np.divmod(keys, n_truth)
    area_p = np.bincount(predicted.ravel(), minlength=n_pred)
    area_t = np.bincount(truth.ravel(), minlength=n_truth)
    keep = inter / (area_p[p] + area_t[t] - inter) > 0.5
    return np.stack([p[keep], t[keep]], axis=1)


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


def match_masks(images, masks) -> list[tuple]:
    """Pair image files with reference masks: same stem, or a mask stem that starts with it.

    Raises ValueError naming the first image without a mask.
    """
    from pathlib import Path

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


def evaluate_pairs(pairs, settings, pixel_size_nm=None, progress=None):
    """Segment every image and compare with its mask: (per-image rows, pooled Confusion, failures).

    A ``roi`` in the settings crops image and mask alike. Unreadable files are listed as
    failures and the rest goes on.
    """
    from .batch import read_mask
    from .errors import NanosizerError
    from .io import iter_micrographs
    from .pipeline import crop_to_roi, segment_micrograph

    rows, failures = [], []
    total = Confusion(np.zeros((2, 2), np.int64))
    for image, mask_path in progress(pairs) if progress else pairs:
        try:
            truth = read_mask(mask_path)
            for micrograph in iter_micrographs(image, pixel_size_nm):
                reference = truth
                if settings.roi is not None:
                    micrograph, reference = crop_to_roi(micrograph, settings.roi, truth)
                if reference.shape != micrograph.data.shape:
                    mh, mw = reference.shape
                    ih, iw = micrograph.data.shape
                    raise ValueError(
                        f"mask {mask_path.name} is {mh}x{mw} px but the image is {ih}x{iw} px: they "
                        "must match (masks drawn on these images, or both cut alike with --roi)"
                    )
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

    from .report.atomic import atomic_path
    from .report.tables import write_csv

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
