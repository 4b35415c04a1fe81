import numpy as np
import pandas as pd
import pytest
from helpers import disc_mask, polygon_mask, rotated_rectangle

from nanosizer.measure import COLUMNS, measure_labels, measure_regions
from nanosizer.measure.geometry import contour_geometry
from nanosizer.regions import Region


@pytest.mark.parametrize("radius", [8, 15, 30, 60])
@pytest.mark.parametrize("pixel_nm", [0.1, 1.0])
def test_disc_measures(radius, pixel_nm):
    mask = disc_mask((2 * radius + 12,) * 2, (radius + 6,) * 2, radius)
    row = measure_labels(mask.astype(np.int32), pixel_nm).iloc[0]
    area_px = mask.sum()
    assert row.area_nm2 == pytest.approx(area_px * pixel_nm**2)
    # The digital disc's area is within 2.5 % of pi r^2, so its ECD is within 1.5 % of 2r.
    assert row.equivalent_diameter_nm == pytest.approx(2 * radius * pixel_nm, rel=0.015)
    assert area_px == pytest.approx(np.pi * radius**2, rel=0.025)
    assert row.circularity == pytest.approx(1.0, abs=0.03)
    assert row.convexity > 0.98 and row.solidity > 0.97
    assert row.aspect_ratio == pytest.approx(1.0, abs=0.1)
    assert not row.non_convex


def test_square_and_rectangle_measures():
    labels = np.zeros((80, 120), np.int32)
    labels[10:40, 10:40] = 1  # 30 x 30 square
    labels[50:60, 20:100] = 2  # 10 x 80 rectangle
    table = measure_labels(labels, 0.5)
    sq, rect = table.iloc[0], table.iloc[1]
    assert sq.area_nm2 == pytest.approx(900 * 0.25)
    assert sq.feret_min_nm == pytest.approx(15.0) and sq.feret_max_nm == pytest.approx(15 * np.sqrt(2))
    # Marching squares cuts the corners and the smoothing rounds them: 2.3 % less perimeter at 30 px.
    assert sq.perimeter_nm == pytest.approx(4 * 15, rel=0.025)
    assert sq.circularity == pytest.approx(np.pi / 4, rel=0.07)  # 4πA/(4a)²
    assert rect.feret_min_nm == pytest.approx(5.0) and rect.aspect_ratio == pytest.approx(
        np.hypot(80, 10) / 10
    )


@pytest.mark.parametrize("angle", [0, 15, 30, 45, 70])
def test_ellipse_measures_at_angles(angle):
    from skimage.draw import ellipse

    mask = np.zeros((200, 200), bool)
    rr, cc = ellipse(100, 100, 20, 60, rotation=np.deg2rad(angle))
    mask[rr, cc] = True
    row = measure_labels(mask.astype(np.int32), 1.0).iloc[0]
    assert row.area_nm2 == pytest.approx(np.pi * 20 * 60, rel=0.02)
    assert row.feret_min_nm == pytest.approx(40, abs=1.5)
    assert row.feret_max_nm == pytest.approx(120, abs=1.5)
    # Ramanujan's perimeter of the ellipse
    a, b = 60, 20
    perim = np.pi * (3 * (a + b) - np.sqrt((3 * a + b) * (a + 3 * b)))
    assert row.perimeter_nm == pytest.approx(perim, rel=0.03)
    assert row.convexity > 0.97


@pytest.mark.parametrize("angle", range(0, 91, 9))
def test_rotated_cube_counts_as_convex(angle):
    corners = rotated_rectangle((60, 60), (30, 30), 24, 24, angle)
    geom = contour_geometry(polygon_mask((60, 60), corners))
    assert geom.convexity >= 0.95 and geom.solidity >= 0.95


def test_two_overlapping_discs_are_non_convex():
    mask = disc_mask((60, 100), (30, 35), 15) | disc_mask((60, 100), (30, 61), 15)
    row = measure_labels(mask.astype(np.int32), 1.0).iloc[0]
    assert row.non_convex and row.convexity < 0.95


def test_centroid_and_bbox_conventions():
    labels = np.zeros((20, 30), np.int32)
    labels[4:6, 10:14] = 7  # rows 4-5, cols 10-13
    row = measure_labels(labels, 2.0).iloc[0]
    assert row.particle_id == 7
    assert row.centroid_x_nm == pytest.approx((11.5 + 0.5) * 2.0)
    assert row.centroid_y_nm == pytest.approx((4.5 + 0.5) * 2.0)
    assert (row.bbox_x, row.bbox_y, row.bbox_w, row.bbox_h) == (10, 4, 4, 2)


def test_empty_table_is_typed():
    table = measure_regions([], 1.0)
    assert list(table.columns) == list(COLUMNS)
    assert len(table) == 0
    assert dict(table.dtypes.astype(str)) == COLUMNS


def test_overlapping_particles_keep_their_full_area():
    a = disc_mask((40, 60), (20, 20), 10)
    b = disc_mask((40, 60), (20, 34), 10)
    regions = [Region(a, 0, 0, True), Region(b, 0, 0, True)]
    table = measure_regions(regions, 1.0)
    assert table.area_nm2.tolist() == [a.sum(), b.sum()]
    assert isinstance(table, pd.DataFrame) and table.separated.all()


@pytest.mark.parametrize("radius", [3, 4, 5, 8, 20, 60, 200, 500])
def test_circularity_of_digitised_discs_is_near_one_and_never_above(radius):
    for offset in (0.0, 0.3, 0.5):
        centre = radius + 3 + offset
        mask = disc_mask((2 * radius + 8,) * 2, (centre, centre + offset / 2), radius)
        circularity = measure_labels(mask.astype(np.int32), 1.0).iloc[0].circularity
        assert 0.95 <= circularity <= 1.0


@pytest.mark.parametrize("side", [50, 100, 300])
@pytest.mark.parametrize("angle", [0, 15, 30, 45])
def test_circularity_of_squares_is_pi_over_four(side, angle):
    c = side * 0.8 + 4
    mask = polygon_mask((int(2 * c),) * 2, rotated_rectangle(None, (c, c), side, side, angle))
    circularity = measure_labels(mask.astype(np.int32), 1.0).iloc[0].circularity
    assert circularity == pytest.approx(np.pi / 4, rel=0.03)


def test_no_shape_has_circularity_above_one():
    rng = np.random.default_rng(3)
    for _ in range(200):
        size = rng.integers(1, 7, 2)
        mask = np.zeros((12, 12), np.int32)
        mask[3 : 3 + size[0], 3 : 3 + size[1]] = rng.random(tuple(size)) < 0.8
        mask[4, 4] = 1
        from scipy import ndimage as ndi

        labels, _ = ndi.label(mask > 0, structure=np.ones((3, 3)))
        table = measure_labels(labels, 1.0)
        assert (table.circularity <= 1.0).all() and table.circularity.notna().all()


def test_particles_too_small_for_a_shape_are_flagged():
    labels = np.zeros((40, 40), np.int32)
    labels[5:9, 5:9] = 1  # 16 px: shape is pixelation
    labels[20:26, 20:26] = 2  # 36 px
    table = measure_labels(labels, 7.0)
    assert table.small_for_shape.tolist() == [True, False]
    assert measure_labels(labels, 7.0, min_shape_px=0).small_for_shape.tolist() == [False, False]
