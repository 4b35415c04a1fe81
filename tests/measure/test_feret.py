import numpy as np
import pytest
from helpers import disc_mask, polygon_mask, rotated_rectangle

from nanosizer.measure.feret import feret_diameters, feret_of_hull


@pytest.mark.parametrize("h, w", [(1, 1), (3, 8), (10, 10), (25, 7)])
def test_axis_rectangle_exact(h, w):
    mask = np.zeros((40, 40), bool)
    mask[5 : 5 + h, 3 : 3 + w] = True
    fmin, fmax = feret_diameters(mask)
    assert fmin == pytest.approx(min(h, w), abs=1e-9)
    assert fmax == pytest.approx(np.hypot(h, w), abs=1e-9)


@pytest.mark.parametrize("radius", [4, 10, 25, 60])
def test_disc_close_to_its_diameter(radius):
    # Pixel centres within r: the squares reach r + 0.5 along the axes and up to r + √2/2 along
    # the diagonals, so the exact hull calipers lie in [2r, 2r + √2].
    mask = disc_mask((2 * radius + 10,) * 2, (radius + 5,) * 2, radius)
    fmin, fmax = feret_diameters(mask)
    assert 2 * radius <= fmin <= fmax <= 2 * radius + np.sqrt(2) + 1e-9


@pytest.mark.parametrize("angle", [0, 10, 22.5, 37, 45, 60, 90])
def test_rotated_rectangle_within_one_pixel(angle):
    corners = rotated_rectangle((100, 100), (50, 50), 20, 60, angle)
    fmin, fmax = feret_diameters(polygon_mask((100, 100), corners))
    assert abs(fmin - 20) <= 1.5
    assert abs(fmax - np.hypot(20, 60)) <= 1.5


def test_hull_calipers_of_a_unit_square_and_a_triangle():
    square = np.array([[0, 0], [0, 1], [1, 1], [1, 0]], float)
    assert feret_of_hull(square) == pytest.approx((1.0, np.sqrt(2)))
    triangle = np.array([[0, 0], [0, 2], [np.sqrt(3), 1]], float)  # equilateral, side 2
    fmin, fmax = feret_of_hull(triangle)
    assert fmin == pytest.approx(np.sqrt(3))
    assert fmax == pytest.approx(2.0)
