"""Pure metrics on arrays: pixel confusion (accuracy, IoU, Dice) and instance matching (F1).

The metrics the ANTEMA paper reports: global accuracy, per-class accuracy, IoU and Dice for
background and particle, and the confusion matrix normalised per true class. Pooled over a set
of images the confusion counts are summed first (every pixel weighs the same), as is usual for
semantic segmentation. Instances are matched one-to-one at IoU > 0.5 (as stardist's
``matching`` and cellpose's ``metrics``); the README, the model card and the benchmarks quote
these functions, and ``nanosizer evaluate`` uses them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .regions import Region, shared_pixels

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


def matched_instances(predicted: np.ndarray, truth: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Pairs (predicted label, true label) whose IoU exceeds ``threshold`` (≥ 0.5), from two
    instance label images.

    Above 0.5 a match is necessarily one-to-one, so no assignment step is needed. Where a
    label image paints overlapping particles, IoU is over the painted (visible) pixels.

    Returns
    -------
    (k, 2) int64 ndarray, sorted by predicted label.
    """
    return _matches(_overlaps(predicted, truth), threshold)


def _overlaps(predicted: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, ...]:
    """Every overlapping (predicted p, truth t) pair with its shared pixels, and the areas of
    all predicted and truth labels: (p, t, shared, area_p, area_t)."""
    predicted, truth = np.asarray(predicted, np.int64), np.asarray(truth, np.int64)
    if predicted.shape != truth.shape:
        raise ValueError(f"prediction shape {predicted.shape} differs from reference {truth.shape}")
    n_pred, n_truth = int(predicted.max()) + 1, int(truth.max()) + 1
    both = (predicted > 0) & (truth > 0)
    keys, inter = np.unique(predicted[both] * n_truth + truth[both], return_counts=True)
    p, t = np.divmod(keys, n_truth)
    area_p = np.bincount(predicted.ravel(), minlength=n_pred)
    area_t = np.bincount(truth.ravel(), minlength=n_truth)
    return p, t, inter, area_p, area_t


def _matches(overlaps: tuple[np.ndarray, ...], threshold: float) -> np.ndarray:
    """The pairs of :func:`_overlaps` whose IoU exceeds ``threshold`` (≥ 0.5: one-to-one)."""
    if threshold < 0.5:
        raise ValueError("matches below IoU 0.5 are not one-to-one")
    p, t, inter, area_p, area_t = overlaps
    keep = inter / (area_p[p] + area_t[t] - inter) > threshold
    return np.stack([p[keep], t[keep]], axis=1)


def instance_f1(predicted: np.ndarray, truth: np.ndarray, keep_truth: np.ndarray | None = None) -> float:
    """F1 of one-to-one matches with IoU > 0.5 between two instance label images.

    Truth particles outside ``keep_truth`` (a bool per truth label, label - 1; e.g. those cut
    by the image border, which the pipeline drops) are neutral: a prediction matched to one
    counts neither as a hit nor as a false particle.

    Examples
    --------
    >>> truth = np.zeros((6, 6), int); truth[0:2, 0:2] = 1; truth[3:6, 3:6] = 2
    >>> found = np.zeros((6, 6), int); found[3:6, 3:6] = 1
    >>> instance_f1(found, truth)  # one of two found, no false one: 2·1 / (1 + 2)
    0.6666666666666666
    """
    truth = np.asarray(truth)
    if keep_truth is None:
        keep_truth = np.ones(int(truth.max()), bool)
    keep_truth = np.asarray(keep_truth, bool)
    pairs = matched_instances(predicted, truth)
    kept = keep_truth[pairs[:, 1] - 1]
    tp = int(kept.sum())
    n_predicted = int(np.asarray(predicted).max()) - int((~kept).sum())
    return 2 * tp / max(n_predicted + int(keep_truth.sum()), 1)


def instance_counts(
    predicted: np.ndarray, truth: np.ndarray, keep_truth: np.ndarray | None = None
) -> dict[str, int]:
    """What became of the truth particles, as counts that add up over images.

    ``truth``: kept truth particles (``keep_truth`` as in :func:`instance_f1`); ``predicted``:
    predicted particles not matched to a neutral truth one; ``matched`` / ``matched_75``:
    one-to-one matches at IoU > 0.5 / > 0.75; of the unmatched truth particles, ``excluded``
    have less than half their pixels in any predicted particle (segmented or not, nothing
    measured them) and ``merged`` have more than half in one predicted particle that also
    holds more than half of another truth particle; ``on_background``: predicted particles
    with less than a tenth of their area on any truth particle (text, scale bars, film, grain:
    false particles that no sizing error explains). F1 = 2·matched / (predicted + truth).
    """
    predicted, truth = np.asarray(predicted, np.int64), np.asarray(truth, np.int64)
    overlaps = _overlaps(predicted, truth)  # the pairs once, for both thresholds and the rest
    p, t, inter, area_p, area_t = overlaps
    keep = np.ones(area_t.size - 1, bool) if keep_truth is None else np.asarray(keep_truth, bool)
    n_truth = max(area_t.size, keep.size + 1)  # the last truth particles may be wholly hidden
    area_t = np.pad(area_t, (0, n_truth - area_t.size))
    pairs = _matches(overlaps, 0.5)
    neutral = ~keep[pairs[:, 1] - 1]
    hit = np.zeros(n_truth, bool)
    hit[pairs[~neutral, 1]] = True
    hit75 = np.zeros(n_truth, bool)
    pairs75 = _matches(overlaps, 0.75)
    hit75[pairs75[keep[pairs75[:, 1] - 1], 1]] = True
    covered = np.bincount(t, weights=inter, minlength=n_truth)
    holds = inter > 0.5 * area_t[t]  # predicted p holds most of truth t
    holders, counts = np.unique(p[holds], return_counts=True)
    merged_t = np.zeros(n_truth, bool)
    merged_t[t[holds & np.isin(p, holders[counts > 1])]] = True
    kept_t = np.concatenate([[False], keep])
    missed = kept_t & ~hit
    on_truth = np.bincount(p, weights=inter, minlength=area_p.size)[1:]
    area_p = area_p[1:]
    return {
        "truth": int(keep.sum()),
        "predicted": int(predicted.max()) - int(neutral.sum()),
        "matched": int(hit.sum()),
        "matched_75": int(hit75.sum()),
        "excluded": int((missed & (covered < 0.5 * area_t)).sum()),
        "merged": int((missed & merged_t).sum()),
        "on_background": int(((area_p > 0) & (on_truth < 0.1 * area_p)).sum()),
    }


def outline_counts(
    predicted: list[Region], truth: list[Region], keep_truth: np.ndarray | None = None
) -> dict[str, int]:
    """Whole outlines matched one-to-one: :func:`instance_counts`' ``truth``, ``predicted``,
    ``matched`` and ``matched_75``, with IoU over each particle's whole outline (hidden parts
    included) instead of the painted visible pixels.

    A micrograph is a projection: where two particles overlap, neither hides the other, and
    which one a label image paints on top is a convention (the smaller one, here and in
    ``nanosizer.synth``). Two correct outlines of similar size painted in the other order lose
    both visible matches; compared whole, they match. Overlapping outlines can exceed IoU 0.5
    with more than one partner, so pairs are assigned (maximum total IoU, as stardist's
    ``matching``). ``keep_truth`` as in :func:`instance_f1`.
    """
    from scipy.optimize import linear_sum_assignment

    keep = np.ones(len(truth), bool) if keep_truth is None else np.asarray(keep_truth, bool)
    iou = np.zeros((len(predicted), len(truth)))
    if predicted and truth:
        bp, bt = _boxes(predicted), _boxes(truth)
        near = (
            (bp[:, None, 0] < bt[None, :, 2])
            & (bt[None, :, 0] < bp[:, None, 2])
            & (bp[:, None, 1] < bt[None, :, 3])
            & (bt[None, :, 1] < bp[:, None, 3])
        )
        for i, j in np.argwhere(near):
            shared = shared_pixels(predicted[i], truth[j])
            iou[i, j] = shared / (predicted[i].area_px + truth[j].area_px - shared)
    counts = {"truth": int(keep.sum()), "predicted": len(predicted)}
    for name, threshold in (("matched", 0.5), ("matched_75", 0.75)):
        rows, cols = linear_sum_assignment(np.where(iou > threshold, iou, 0.0), maximize=True)
        hit = iou[rows, cols] > threshold
        counts[name] = int((hit & keep[cols]).sum())
        if threshold == 0.5:
            counts["predicted"] -= int((hit & ~keep[cols]).sum())  # matched to a neutral particle
    return counts


def _boxes(regions: list[Region]) -> np.ndarray:
    """(n, 4) top, left, bottom, right of each region's box."""
    return np.array([(r.top, r.left, r.top + r.mask.shape[0], r.left + r.mask.shape[1]) for r in regions])


def box_counts(
    predicted: np.ndarray, truth: np.ndarray, shape: tuple[int, int], threshold: float = 0.5
) -> dict:
    """Detection counts of axis-aligned boxes (x0, y0, x1, y1 in px), matched one-to-one at box
    IoU > ``threshold`` (maximum total IoU), for truth given only as boxes (the ARDA catalysts).

    Truth boxes touching the image border (within 1 px) are neutral, as the pipeline drops
    particles cut by the border: a prediction matched to one counts neither as a hit nor as a
    false particle. Returns ``truth``, ``predicted`` and ``matched`` (F1 = 2·matched /
    (predicted + truth)) and the matched pairs' size ratios √(w·h) found / true (``size_ratios``).

    Examples
    --------
    >>> truth = np.array([[10, 10, 20, 20], [0, 30, 8, 40]])  # the second touches the border
    >>> found = np.array([[11, 10, 21, 20], [0, 30, 8, 40], [50, 50, 60, 60]])
    >>> {k: v for k, v in box_counts(found, truth, (100, 100)).items() if k != "size_ratios"}
    {'truth': 1, 'predicted': 2, 'matched': 1}
    """
    from scipy.optimize import linear_sum_assignment

    predicted = np.asarray(predicted, float).reshape(-1, 4)
    truth = np.asarray(truth, float).reshape(-1, 4)
    h, w = shape
    border = (truth[:, 0] <= 1) | (truth[:, 1] <= 1) | (truth[:, 2] >= w - 1) | (truth[:, 3] >= h - 1)
    low = np.maximum(predicted[:, None, :2], truth[None, :, :2])
    high = np.minimum(predicted[:, None, 2:], truth[None, :, 2:])
    inter = np.clip(high - low, 0, None).prod(axis=2)
    area_p = (predicted[:, 2:] - predicted[:, :2]).prod(axis=1)
    area_t = (truth[:, 2:] - truth[:, :2]).prod(axis=1)
    iou = inter / np.maximum(area_p[:, None] + area_t[None, :] - inter, 1e-12)
    rows, cols = linear_sum_assignment(np.where(iou > threshold, iou, 0.0), maximize=True)
    hit = iou[rows, cols] > threshold
    rows, cols = rows[hit], cols[hit]
    kept = ~border[cols]
    ratios = np.sqrt(area_p[rows[kept]] / np.maximum(area_t[cols[kept]], 1e-12))
    return {
        "truth": int((~border).sum()),
        "predicted": len(predicted) - int((~kept).sum()),
        "matched": int(kept.sum()),
        "size_ratios": ratios,
    }
