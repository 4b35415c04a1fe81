"""Perimeter, convex hull, convexity and solidity of one binary region, from its contour.

The boundary is traced by marching squares through the pixel-edge midpoints (8-connected
foreground) and smoothed with binomial passes, which removes the staircase of digital edges.
Convexity and solidity use four passes: a rectangle at any angle keeps both above 0.96, while
two overlapping discs still fall below 0.95. The reported outline (perimeter and circularity)
uses two, which round corners less: its circularity 4π·area/perimeter² takes area and perimeter
from the same closed curve, so it never exceeds 1 (isoperimetric inequality); digitised discs of
radius 3–500 px give 0.98–1.00 and squares of 50 px and more π/4 within 3 % at any angle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import convolve1d
from scipy.spatial import ConvexHull

from .contours import trace_contours

# Two passes of the [1, 2, 1]/4 filter, applied at once; twice that gives the four passes.
_OUTLINE_KERNEL = np.array([1, 4, 6, 4, 1], dtype=np.float64) / 16.0


@dataclass(frozen=True)
class ContourGeometry:
    """Shape numbers of one region, in pixel units.

    ``perimeter`` includes the boundaries of holes; ``convexity`` = hull perimeter / perimeter
    (the ANTEMA definition); ``solidity`` = enclosed area / hull area. Both are ≤ 1.
    ``outline_perimeter`` and ``outline_area`` describe the lightly smoothed outline that is
    reported (perimeter, circularity).
    """

    perimeter: float
    hull_perimeter: float
    enclosed_area: float
    hull_area: float
    outline_perimeter: float = 0.0
    outline_area: float = 0.0

    @property
    def circularity(self) -> float:
        """4π·area/perimeter² of the reported outline: 1 for a circle, never above."""
        if self.outline_perimeter <= 0:
            return float("nan")
        return min(1.0, 4.0 * np.pi * self.outline_area / self.outline_perimeter**2)

    @property
    def convexity(self) -> float:
        return min(1.0, self.hull_perimeter / self.perimeter) if self.perimeter > 0 else 1.0

    @property
    def solidity(self) -> float:
        return min(1.0, self.enclosed_area / self.hull_area) if self.hull_area > 0 else 1.0


def contour_geometry(mask: np.ndarray) -> ContourGeometry:
    """Measure a boolean region crop (one 8-connected component, holes allowed).

    Examples
    --------
    >>> import numpy as np
    >>> yy, xx = np.mgrid[:64, :64]
    >>> g = contour_geometry((yy - 31.5) ** 2 + (xx - 31.5) ** 2 < 25**2)
    >>> round(g.perimeter / (2 * np.pi * 25), 2), round(g.convexity, 2)
    (1.0, 1.0)
    """
    raw = [c for c in trace_contours(mask) if len(c) >= 3]
    if not raw:
        return ContourGeometry(0.0, 0.0, 0.0, 0.0)
    outlines = [convolve1d(c, _OUTLINE_KERNEL, axis=0, mode="wrap") for c in raw]
    contours = [convolve1d(c, _OUTLINE_KERNEL, axis=0, mode="wrap") for c in outlines]
    enclosed, outer = _enclosed_area(contours)
    perimeter = float(sum(_closed_length(c) for c in contours))
    hull_perimeter, hull_area = _hull_size(contours[outer])
    outline_perimeter = float(sum(_closed_length(c) for c in outlines))
    return ContourGeometry(
        perimeter, hull_perimeter, enclosed, hull_area, outline_perimeter, _enclosed_area(outlines)[0]
    )


def _enclosed_area(contours: list[np.ndarray]) -> tuple[float, int]:
    """Area inside the largest contour less the areas of the others (holes), and its index."""
    areas = np.array([polygon_area(c) for c in contours])
    outer = int(np.argmax(areas))
    return float(areas[outer] - (areas.sum() - areas[outer])), outer


def is_convex(geom: ContourGeometry, convexity_threshold: float, solidity_threshold: float) -> bool:
    """The ANTEMA/UECS convexity test: convexity and solidity both at or above their thresholds."""
    return geom.convexity >= convexity_threshold and geom.solidity >= solidity_threshold


def _closed_length(points: np.ndarray) -> float:
    steps = np.diff(points, axis=0, append=points[:1])
    return float(np.hypot(steps[:, 0], steps[:, 1]).sum())


def polygon_area(points: np.ndarray) -> float:
    """Area of a simple polygon given by its (row, col) vertices in order (shoelace formula)."""
    y, x = points[:, 0], points[:, 1]
    # sum of x_i * y_(i+1) - y_i * x_(i+1), closing the polygon without np.roll's copies
    twice = np.dot(x[:-1], y[1:]) - np.dot(y[:-1], x[1:]) + x[-1] * y[0] - y[-1] * x[0]
    return 0.5 * abs(float(twice))


def _hull_size(points: np.ndarray) -> tuple[float, float]:
    """Perimeter and area of the convex hull of 2-D points (0 area for collinear points)."""
    try:
        hull = ConvexHull(points)
    except Exception:  # collinear or too few points: a segment
        span = np.ptp(points, axis=0)
        return 2.0 * float(np.hypot(*span)), 0.0
    return float(hull.area), float(hull.volume)  # in 2-D qhull's "area" is the perimeter
