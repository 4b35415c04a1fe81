"""What a network with a shape head says about particle outlines, in the image's pixels."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..regions import Region, inscribed_width

GRID = 4  # the shape outputs' stride: grid point (i, j) sits on network input pixel (4i, 4j)
OUTLINE_SIZES_PX = (5.0, 70.0)  # particle widths the shape head works at without resampling (v5 scenes)
OUTLINE_LENGTH_PX = 250.0  # the longest particles (rods) it was trained on
# Regions wider than this get the coarse pass. The head was trained on scenes of typical
# particles up to 80 px wide (single ones beyond 90 px with the size spread); a pass for regions
# 70-90 px wide changed no count on the measured sets (EMPS, BAM, seven generated presets) and
# cost a third of the forward pass on clusters of 62-70 px spheres, adopted for none of them.
COARSE_FROM_PX = 90.0


@dataclass(frozen=True)
class ShapeField:
    """Object probability and ray distances on the network's stride-4 grid.

    ``zoom`` is the factor by which the image was resampled for the network: grid points and
    distances are mapped back to the micrograph's own pixels by :meth:`points` and
    :meth:`distances`; ``window`` = (top, left, bottom, right) is the part of the micrograph
    the predictions were made on (None: all of it). ``coarse_pass``, when set, predicts the
    outlines again around given (region, width) pairs (:func:`wide_regions`), on the image
    shrunk for them (one field per window): the separation asks for it where regions are wider than the shape
    head knows (:mod:`nanosizer.separate.learned`). ``fine_pass``, when set, predicts them
    around a box (top, left, bottom, right) on the image enlarged by a zoom (None when that is
    no larger than the main pass's): the separation asks for it where a region looks like a
    raft of particles too small for the head (:mod:`nanosizer.separate.rafts`). ``image`` is the
    normalised micrograph (dark particles, its own pixels) the separation reads intensities from.
    """

    objects: np.ndarray  # (h, w) float32
    rays: np.ndarray  # (n_rays, h, w) float32, px of the network's input
    zoom: float = 1.0
    window: tuple[int, int, int, int] | None = None
    coarse_pass: Callable[[list[tuple[Region, float]]], tuple[ShapeField, ...]] | None = None
    fine_pass: Callable[[tuple[int, int, int, int], float], ShapeField | None] | None = None
    image: np.ndarray | None = None  # the normalised image the predictions came from (dark particles)

    def points(self, grid_ij: np.ndarray) -> np.ndarray:
        """(k, 2) image coordinates (row, col; pixel centres at integers) of grid points."""
        at_input = np.asarray(grid_ij, np.float64) * GRID
        origin = np.zeros(2) if self.window is None else np.asarray(self.window[:2], np.float64)
        return (at_input + 0.5) / self.zoom - 0.5 + origin

    def contains(self, top: int, left: int, bottom: int, right: int) -> bool:
        """Whether the box (image px) lies inside the part the predictions were made on."""
        if self.window is None:
            return True
        w_top, w_left, w_bottom, w_right = self.window
        return w_top <= top and w_left <= left and bottom <= w_bottom and right <= w_right

    def distances(self, grid_ij: np.ndarray) -> np.ndarray:
        """(k, n_rays) ray distances in image px at grid points."""
        i, j = np.asarray(grid_ij).T
        return self.rays[:, i, j].T / self.zoom


def wide_regions(regions: dict[int, Region]) -> dict[int, float]:
    """Widths (:func:`~nanosizer.regions.inscribed_width`, px) of the ``regions`` wider than the
    shape head knows (:data:`COARSE_FROM_PX`), under the same keys; a region whose box is no
    wider is not measured."""
    limit = COARSE_FROM_PX
    widths = {key: inscribed_width(r.mask) for key, r in regions.items() if min(r.mask.shape) > limit}
    return {key: width for key, width in widths.items() if width > limit}
