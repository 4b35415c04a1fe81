"""The vectorised outline tracer gives scikit-image's contours: same points, same order."""

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage.measure import find_contours

from nanosizer.measure.contours import trace_contours


def _as_cycle(points: np.ndarray, start: np.ndarray) -> np.ndarray:
    """The closed outline rotated to begin at ``start`` (outlines have no first point)."""
    first = int(np.flatnonzero((points == start).all(axis=1))[0])
    return np.roll(points, -first, axis=0)


@pytest.mark.parametrize("seed", range(6))
def test_outlines_equal_skimage_find_contours_on_random_masks(seed):
    rng = np.random.default_rng(seed)
    for _ in range(40):
        mask = rng.random(tuple(rng.integers(1, 40, 2))) < rng.uniform(0.2, 0.8)
        if seed % 2:
            mask = ndi.binary_opening(mask)  # blobby shapes with holes, not only noise
        expected = [c[:-1] for c in find_contours(np.pad(mask, 1).astype(float), 0.5, fully_connected="high")]
        found = trace_contours(mask)
        assert len(found) == len(expected)
        remaining = list(found)
        for contour in expected:  # each skimage outline is one of ours, point for point, in order
            match = next(
                i
                for i, c in enumerate(remaining)
                if len(c) == len(contour) and (c == contour[0]).all(1).any()
            )
            np.testing.assert_array_equal(_as_cycle(remaining.pop(match), contour[0]), contour)


def test_empty_and_full_crops():
    assert trace_contours(np.zeros((3, 4), bool)) == []
    (outline,) = trace_contours(np.ones((2, 3), bool))
    assert len(outline) == 2 * (2 + 3)  # one point per boundary pixel edge
