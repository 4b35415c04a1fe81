"""Closed outlines of a binary region crop by marching squares, vectorised.

The points are the midpoints of the pixel edges between particle and background, exactly
those of scikit-image's ``find_contours(padded, 0.5, fully_connected="high")`` (8-connected
particle), but with no Python loop per point: segments come from a 16-case table and are
chained by sorting their end points, and each closed outline is ordered by pointer doubling.
About 3x faster on particle crops, where contour tracing was the main cost of separation.
"""

from __future__ import annotations

import numpy as np

# Cell corners clockwise: upper-left, upper-right, lower-right, lower-left (bit k = corner k);
# edge k joins corner k to corner k + 1. Its midpoint, in doubled pixel units from the cell:
_EDGE_DY = np.array([0, 1, 2, 1])
_EDGE_DX = np.array([1, 2, 1, 0])


def _segment_table() -> np.ndarray:
    """(16, 2, 2): for each cell case, up to two segments (start edge, end edge), -1 if none.

    Each run of background corners, going clockwise, is cut off by one segment from the edge
    where it starts to the edge where it ends. In the two saddle cases the background corners
    are cut off one by one, which keeps the diagonal particle pixels joined (8-connectivity).
    All segments then run the same way round, so each point starts one segment and ends one.
    """
    table = np.full((16, 2, 2), -1, dtype=np.int64)
    for case in range(16):
        high = [(case >> k) & 1 for k in range(4)]
        found = 0
        for k in range(4):
            if high[k] and not high[(k + 1) % 4]:
                end = k + 1
                while not high[(end + 1) % 4]:
                    end += 1
                table[case, found] = (k, end % 4)
                found += 1
    return table


_SEGMENTS = _segment_table()


def trace_contours(mask: np.ndarray) -> list[np.ndarray]:
    """Every closed outline (outer boundaries and holes) of a boolean crop.

    Parameters
    ----------
    mask : (h, w) bool ndarray

    Returns
    -------
    list of (n, 2) float ndarray
        (row, col) points of each outline in order, not repeating the first point, in the
        frame of the crop padded by one background pixel (as ``np.pad(mask, 1)``).

    Examples
    --------
    >>> import numpy as np
    >>> [c.tolist() for c in trace_contours(np.ones((1, 1), bool))]
    [[[1.0, 0.5], [0.5, 1.0], [1.0, 1.5], [1.5, 1.0]]]
    """
    mask = np.asarray(mask, dtype=bool)  # (any non-zero value is particle)
    padded = np.zeros((mask.shape[0] + 2, mask.shape[1] + 2), dtype=np.uint8)
    padded[1:-1, 1:-1] = mask
    case = padded[:-1, :-1] | (padded[:-1, 1:] << 1) | (padded[1:, 1:] << 2) | (padded[1:, :-1] << 3)
    rows, cols = np.nonzero(case - np.uint8(1) < 14)  # neither 0 (wraps to 255) nor 15
    segments = _SEGMENTS[case[rows, cols]]
    second = segments[:, 1, 0] >= 0  # saddle cells hold two segments
    rows = np.concatenate([rows, rows[second]])
    cols = np.concatenate([cols, cols[second]])
    start = np.concatenate([segments[:, 0, 0], segments[second, 1, 0]])
    end = np.concatenate([segments[:, 0, 1], segments[second, 1, 1]])
    if not start.size:
        return []
    y, x = 2 * rows + _EDGE_DY[start], 2 * cols + _EDGE_DX[start]
    width = 2 * padded.shape[1]
    start_key = y * width + x
    end_key = (2 * rows + _EDGE_DY[end]) * width + 2 * cols + _EDGE_DX[end]
    order = np.argsort(start_key)
    successor = order[np.searchsorted(start_key[order], end_key)]  # the segment that goes on
    points = np.stack([y, x], axis=1) * 0.5
    return [points[cycle] for cycle in _cycles(successor)]


def _cycles(successor: np.ndarray) -> list[np.ndarray]:
    """The cycles of a permutation, each listed in successor order.

    Pointer doubling: from a start, the next 1, 2, 4, ... indices come from the successor
    applied 1, 2, 4, ... times, so a cycle of n points costs log2(n) array steps.
    """
    unseen = np.ones(len(successor), dtype=bool)
    jumps = [successor]  # jumps[k] = successor applied 2**k times
    cycles = []
    start = 0
    while True:
        sequence = np.array([start])
        level = 0
        while True:
            if level == len(jumps):
                jumps.append(jumps[-1][jumps[-1]])
            ahead = jumps[level][sequence]  # the len(sequence) indices that follow
            back = ahead == start
            if back.any():
                sequence = np.concatenate([sequence, ahead[: int(back.argmax())]])
                break
            sequence = np.concatenate([sequence, ahead])
            level += 1
        cycles.append(sequence)
        unseen[sequence] = False
        start = _next_true(unseen, start)
        if start < 0:
            return cycles


def _next_true(flags: np.ndarray, start: int) -> int:
    """Index of the first True at or after ``start`` (-1 if none); looks near first, as holes'
    outlines follow each other, so many outlines do not cost a scan of the whole array each."""
    for stop in (start + 256, len(flags)):
        found = np.flatnonzero(flags[start:stop])
        if found.size:
            return start + int(found[0])
        start = stop
    return -1
