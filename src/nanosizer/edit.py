"""Corrections to an analysed image: cut particles along a drawn line, re-measure an edited
label image with the pipeline's own measures, say what changed, and write the result.

The napari widget (:mod:`nanosizer.napari_plugin`) is a thin front over these functions, so
corrections are tested and reproducible without a GUI.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi
from skimage.draw import line as draw_line

from .errors import OutputExistsError
from .measure import measure_regions
from .pipeline import AnalysisResult
from .quality import particle_confidence
from .regions import Region, label_dtype
from .report.results import write_image_results

MAJORITY = 0.5  # a particle whose area mostly went to background was deleted; sources of a merge
SPLIT_PIECE = 0.1  # a share of a former particle at least this large in another label is a piece of a split


def split_along_line(labels: np.ndarray, vertices_rc) -> tuple[np.ndarray, list[int]]:
    """Cut every particle that a polyline crosses into its pieces.

    Parameters
    ----------
    labels : (M, N) integer ndarray
        Instance labels, 0 = background.
    vertices_rc : (k, 2) array-like, k >= 2
        The line's vertices as (row, column) in pixels.

    Returns
    -------
    labels : (M, N) ndarray
        A new label image: the largest piece of a cut particle keeps its label, the others get
        new labels above the largest one in use. The line's own pixels go to the nearest piece,
        so no particle area is lost. A line that does not cut a particle through changes nothing.
    new : list of int
        The labels given to new pieces.

    Examples
    --------
    >>> labels = np.zeros((5, 9), np.uint16); labels[1:4, 1:8] = 3
    >>> cut, new = split_along_line(labels, [(0, 4), (4, 4)])
    >>> new, sorted(np.unique(cut).tolist()), int((cut > 0).sum())
    ([4], [0, 3, 4], 21)
    """
    labels = np.asarray(labels)
    vertices = np.round(np.asarray(vertices_rc, dtype=float)).astype(np.int64)
    if vertices.ndim != 2 or vertices.shape[1] != 2 or len(vertices) < 2:
        raise ValueError(f"a cutting line needs at least two (row, column) vertices, got {vertices.shape}")
    line = np.zeros(labels.shape, bool)
    for (r0, c0), (r1, c1) in zip(vertices[:-1], vertices[1:], strict=True):
        rr, cc = draw_line(r0, c0, r1, c1)
        inside = (rr >= 0) & (rr < labels.shape[0]) & (cc >= 0) & (cc < labels.shape[1])
        line[rr[inside], cc[inside]] = True
    crossed = [int(v) for v in np.unique(labels[line]) if v]
    if not crossed:
        return labels.copy(), []
    next_label = int(labels.max()) + 1
    out = labels.astype(np.int64, copy=True)
    slices = ndi.find_objects(labels.astype(np.int64, copy=False), max_label=max(crossed))
    new: list[int] = []
    for value in crossed:
        window = slices[value - 1]
        particle = labels[window] == value
        pieces, count = ndi.label(particle & ~line[window])  # 4-connected: an 8-connected line cuts
        if count < 2:
            continue
        order = np.argsort(-np.bincount(pieces.ravel())[1:]) + 1  # largest piece first
        values = np.zeros(count + 1, np.int64)
        values[order[0]] = value
        values[order[1:]] = np.arange(next_label, next_label + count - 1)
        new.extend(range(next_label, next_label + count - 1))
        next_label += count - 1
        nearest = ndi.distance_transform_edt(pieces == 0, return_distances=False, return_indices=True)
        filled = pieces[tuple(nearest)]
        out[window][particle] = values[filled[particle]]
    return out.astype(label_dtype(int(out.max()))), new


def remeasure(result: AnalysisResult, labels: np.ndarray) -> AnalysisResult:
    """The result of an edited label image, measured with the pipeline's own measures.

    A particle whose pixels did not change keeps its region as analysed (its whole outline
    where learned separation saw it overlapped) and its ``separated`` flag; an edited or new
    one is measured from its pixels in ``labels``. ``particle_id`` is the label value, and the
    table gains an ``edited`` column (True for particles edited now or in an earlier edit).

    Parameters
    ----------
    result : AnalysisResult
        The analysis (or an earlier re-measure) the edits started from.
    labels : (M, N) integer ndarray
        The edited instance labels, 0 = background, same shape as ``result.labels``.
    """
    tic = time.perf_counter()
    labels = np.asarray(labels)
    before = result.labels
    if labels.shape != before.shape:
        raise ValueError(f"edited labels have shape {labels.shape}, the analysed image {before.shape}")
    if labels.size and labels.min() < 0:
        raise ValueError("edited labels hold negative values; particle labels are 0 (background) or above")
    table = result.particles
    ids = table["particle_id"].to_numpy(dtype=np.int64)
    regions_by_id = dict(zip(ids.tolist(), result.separation.particles, strict=True))
    edited_before = dict(zip(ids.tolist(), _edited_column(table).tolist(), strict=True))
    new_slices = ndi.find_objects(labels.astype(np.int64, copy=False))
    old_slices = ndi.find_objects(before.astype(np.int64, copy=False))
    regions, values, edited = [], [], []
    for value, window in enumerate(new_slices, start=1):
        if window is None:
            continue
        mask = labels[window] == value
        old = regions_by_id.get(value)
        same = (
            old is not None
            and value <= len(old_slices)
            and old_slices[value - 1] == window
            and np.array_equal(before[window] == value, mask)
        )
        if same:
            regions.append(old)
        else:
            regions.append(Region(mask, window[0].start, window[1].start, old is not None and old.separated))
        values.append(value)
        edited.append(not same or edited_before.get(value, False))
    settings = result.settings
    measured = measure_regions(
        regions,
        result.micrograph.pixel_size_nm,
        settings.convexity_threshold,
        settings.solidity_threshold,
        settings.min_shape_px,
    )
    measured["particle_id"] = np.asarray(values, dtype=np.int64)
    measured["confidence"] = particle_confidence(labels, result.probability, measured["particle_id"])
    measured["edited"] = np.asarray(edited, dtype=bool)
    removed = (before > 0) & (labels == 0)
    segmentation = (result.segmentation & ~removed) | (labels > 0)
    timings = dict(result.timings) | {"remeasure_s": time.perf_counter() - tic}
    return dataclasses.replace(
        result,
        segmentation=segmentation,
        labels=labels.astype(label_dtype(int(labels.max(initial=0)))),
        particles=measured,
        separation=dataclasses.replace(result.separation, particles=regions),
        timings=timings,
    )


def describe_edits(before: np.ndarray, after: np.ndarray) -> dict:
    """What changed between two label images, in the words a microscopist uses.

    Returns a JSON-ready dict: ``deleted`` (particles whose area mostly became background),
    ``merged`` ({label: [former particles]} for a label that took most of two or more),
    ``split`` ({former particle: [labels of its pieces]}), ``added`` (labels drawn mostly on
    background), ``reshaped`` (other changed labels) and ``changed_pixels``.

    Examples
    --------
    >>> before = np.zeros((4, 8), np.uint16); before[1:3, 1:3] = 1; before[1:3, 5:7] = 2
    >>> after = before.copy(); after[after == 2] = 1
    >>> describe_edits(before, after)["merged"]
    {'1': [1, 2]}
    """
    before, after = np.asarray(before), np.asarray(after)
    changed = before != after
    report = {"deleted": [], "merged": {}, "split": {}, "added": [], "reshaped": []}
    report["changed_pixels"] = int(changed.sum())
    if not report["changed_pixels"]:
        return report
    involved = np.isin(before, before[changed]) | np.isin(after, after[changed])  # whole particles
    old = np.setdiff1d(np.unique(before[involved]), [0])
    new = np.setdiff1d(np.unique(after[involved]), [0])
    pairs, counts = np.unique(np.stack([before[involved], after[involved]]), axis=1, return_counts=True)
    share = {}  # (old, new) -> share of the old particle's area now in label new
    area_old = {int(u): int(counts[pairs[0] == u].sum()) for u in old}
    for (u, v), n in zip(pairs.T.tolist(), counts.tolist(), strict=True):
        if u in area_old:
            share[u, v] = n / area_old[u]
    explained = set()
    for u in old.tolist():
        if share.get((u, 0), 0.0) > MAJORITY:
            report["deleted"].append(u)
            continue
        pieces = sorted(v for (w, v), s in share.items() if w == u and v and s >= SPLIT_PIECE)
        if len(pieces) >= 2:
            report["split"][str(u)] = pieces
            explained.update(pieces)
    for v in new.tolist():
        sources = sorted(u for (u, w), s in share.items() if w == v and u and s > MAJORITY)
        if len(sources) >= 2:
            report["merged"][str(v)] = sources
            explained.add(v)
            continue
        from_background = int(counts[(pairs[0] == 0) & (pairs[1] == v)].sum())
        existed = bool((before == v).any())
        if not existed and from_background > MAJORITY * int(counts[pairs[1] == v].sum()):
            report["added"].append(v)
        elif v not in explained:
            report["reshaped"].append(v)
    return report


def write_edited_results(
    result: AnalysisResult,
    folder: str | Path,
    edits: dict,
    tables: tuple[str, ...] = ("csv", "xlsx"),
    overwrite: bool = False,
) -> dict:
    """Write an edited image's results as ``nanosizer analyze`` writes an image's folder, with
    ``edited`` (true when any pixel changed) and ``edits`` (:func:`describe_edits`) in
    ``summary.json``; returns the summary.

    A folder that already holds results is replaced only with ``overwrite``. When it holds this
    image's results from a batch, their ``run_hash`` is kept, so ``nanosizer analyze ...
    --resume`` takes the corrected table into the run's combined statistics.
    """
    folder = Path(folder)
    extra = {"edited": bool(edits.get("changed_pixels", True)), "edits": edits}
    previous = folder / "summary.json"
    if folder.is_dir() and any(folder.iterdir()):
        if not overwrite:
            raise OutputExistsError("folder holds results; export with overwrite to replace them", folder)
        try:
            earlier = json.loads(previous.read_text())
        except (OSError, ValueError):
            earlier = {}
        if earlier.get("run_hash") and earlier.get("image") == result.micrograph.name:
            extra["run_hash"] = earlier["run_hash"]
    return write_image_results(result, folder, tables, extra)


def _edited_column(table) -> np.ndarray:
    if "edited" in table:
        return table["edited"].to_numpy(dtype=bool)
    return np.zeros(len(table), bool)
