"""What a network with a shape head says about particle outlines, in the image's pixels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GRID = 4  # the shape outputs' stride: grid point (i, j) sits on network input pixel (4i, 4j)


@dataclass(frozen=True)
class ShapeField:
    """Object probability and ray distances on the network's stride-4 grid.

    ``zoom`` is the factor by which the image was resampled for the network: grid points and
    distances are mapped back to the micrograph's own pixels by :meth:`points` and
    :meth:`distances`.
    """

    objects: np.ndarray  # (h, w) float32
    rays: np.ndarray  # (n_rays, h, w) float32, px of the network's input
    zoom: float = 1.0

    def points(self, grid_ij: np.ndarray) -> np.ndarray:
        """(k, 2) image coordinates (row, col; pixel centres at integers) of grid points."""
        at_input = np.asarray(grid_ij, np.float64) * GRID
        return (at_input + 0.5) / self.zoom - 0.5

    def distances(self, grid_ij: np.ndarray) -> np.ndarray:
        """(k, n_rays) ray distances in image px at grid points."""
        i, j = np.asarray(grid_ij).T
        return self.rays[:, i, j].T / self.zoom
