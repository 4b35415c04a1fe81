"""Helpers on labelled regions: per-label medians and the area-weighted median."""

import numpy as np
from scipy import ndimage as ndi

from nanosizer.regions import area_weighted_median, label_medians


def test_label_medians_are_scipys_and_nan_for_labels_without_pixels():
    rng = np.random.default_rng(0)
    values = rng.random((120, 130)).astype(np.float32)
    labels, count = ndi.label(ndi.gaussian_filter(rng.random((120, 130)), 3) > 0.52)
    ours = label_medians(values, labels, count + 2)  # two labels more than there are
    np.testing.assert_allclose(ours[:count], ndi.median(values, labels, np.arange(1, count + 1)), rtol=1e-6)
    assert np.isnan(ours[count:]).all()
    assert np.isnan(label_medians(values, np.zeros_like(labels), 1)).all()


def test_the_area_weighted_median_is_what_covers_most_of_the_area():
    """One large outline and two small ones: the plain median is a small one's width, the
    area-weighted one the large one's."""
    widths, areas = [43.0, 92.0, 40.0], [1200.0, 6600.0, 1000.0]
    assert np.median(widths) == 43.0 and area_weighted_median(widths, areas) == 92.0
    assert area_weighted_median([5.0], [1.0]) == 5.0
