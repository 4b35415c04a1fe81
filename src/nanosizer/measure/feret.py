"""Exact minimum and maximum Feret (caliper) diameters of a pixel region.

The region is the union of its pixel squares; both diameters are those of the convex hull of
the squares' corners (rotating calipers): the maximum over vertex pairs, the minimum over edge
directions (the minimum-width direction is always parallel to a hull edge).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import ConvexHull

_CORNERS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])


def row_extreme_pixels(mask: np.ndarray) -> np.ndarray:
    """(row, col) of the first and last pixel of every non-empty row, float (2k, 2).

    Every convex-hull vertex of a region is among them, so hull work can start from these few.
    """
    h, w = mask.shape
    rows = np.arange(h)
    first = mask.argmax(axis=1)
    last = (w - 1) - mask[:, ::-1].argmax(axis=1)
    filled = mask[rows, first]  # argmax gives 0 for an empty row
    if not filled.all():
        rows, first, last = rows[filled], first[filled], last[filled]
    k = rows.size
    points = np.empty((2 * k, 2))
    points[:k, 0] = points[k:, 0] = rows
    points[:k, 1], points[k:, 1] = first, last
    return points


def hull_of_pixel_squares(mask: np.ndarray) -> np.ndarray:
    """Vertices (k, 2) in (row, col) of the convex hull of the region's pixel squares.

    Pixel (i, j) covers [i, i+1] x [j, j+1]; only the first and last pixel of each row can
    contribute hull corners.
    """
    pixels = row_extreme_pixels(mask)
    corners = (pixels[:, None, :] + _CORNERS[None]).reshape(-1, 2)
    hull = ConvexHull(corners)
    return corners[hull.vertices]


def feret_diameters(mask: np.ndarray) -> tuple[float, float]:
    """Minimum and maximum Feret diameter of a boolean region, in pixels.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.zeros((10, 10), bool); m[2:5, 1:9] = True
    >>> [round(v, 6) for v in feret_diameters(m)]
    [3.0, 8.544004]
    """
    return feret_of_hull(hull_of_pixel_squares(mask))


def feret_of_hull(vertices: np.ndarray) -> tuple[float, float]:
    """(min, max) caliper width of a convex polygon given by its vertices in order."""
    diff = vertices[:, None, :] - vertices[None, :, :]
    feret_max = float(np.sqrt((diff**2).sum(-1).max()))
    edges = np.roll(vertices, -1, axis=0) - vertices
    lengths = np.hypot(edges[:, 0], edges[:, 1])
    keep = lengths > 0
    edges, lengths, starts = edges[keep], lengths[keep], vertices[keep]
    rel = vertices[None, :, :] - starts[:, None, :]  # (edge, vertex, 2)
    dist = np.abs(edges[:, None, 0] * rel[..., 1] - edges[:, None, 1] * rel[..., 0])
    feret_min = float((dist.max(axis=1) / lengths).min())
    return feret_min, feret_max
