"""Sample statistics against NumPy/SciPy, bootstrap coverage, and the EU criterion at its edges."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from nanosizer.report.compare import compare_sizes
from nanosizer.report.statistics import (
    bootstrap_ci,
    bootstrap_percentile_ci,
    describe,
    eu_nanomaterial,
    sample_statistics,
    weighted_distribution,
    wilson_interval,
)


def test_describe_matches_numpy():
    v = np.random.default_rng(1).lognormal(2.0, 0.3, 500)
    d = describe(v)
    assert d["count"] == 500
    assert d["mean"] == pytest.approx(v.mean())
    assert d["std"] == pytest.approx(v.std(ddof=1))
    assert d["median"] == pytest.approx(np.median(v))
    for q in (10, 50, 90):
        assert d[f"d{q}"] == pytest.approx(np.percentile(v, q))
        assert d[f"d{q}_ci_low"] <= d[f"d{q}"] <= d[f"d{q}_ci_high"]
    assert d["mean_ci_low"] < d["mean"] < d["mean_ci_high"]
    assert describe(v) == describe(v)  # seeded: same intervals


def test_bootstrap_interval_covers_the_true_median():
    rng = np.random.default_rng(7)
    true_median = np.exp(1.0)  # lognormal(1, 0.4)
    covered = 0
    for _ in range(80):
        low, high = bootstrap_ci(rng.lognormal(1.0, 0.4, 150), lambda a: np.median(a, axis=1), n=400, seed=3)
        covered += low <= true_median <= high
    assert 0.85 <= covered / 80 <= 1.0


@pytest.mark.parametrize("size", [5, 40, 300])
def test_order_statistic_bootstrap_equals_resampling(size):
    """The Beta draws give the distribution of resampled percentiles: intervals agree to MC noise."""
    v = np.random.default_rng(size).lognormal(2.0, 0.4, size)
    spread = np.ptp(v)
    for q in (10, 50, 90):
        resampled = bootstrap_ci(v, lambda a, q=q: np.percentile(a, q, axis=1), n=20000, seed=1)
        drawn = bootstrap_percentile_ci(v, q, n=20000, seed=2)
        assert drawn == pytest.approx(resampled, abs=0.02 * spread)


def test_share_interval_is_wilsons_and_never_zero_width():
    for k, n in ((0, 3), (3, 3), (30, 200), (200, 200)):
        expected = stats.binomtest(k, n).proportion_ci(0.95, method="wilson")
        assert wilson_interval(k, n) == pytest.approx((expected.low, expected.high), abs=1e-9)
        low, high = wilson_interval(k, n)
        assert high - low > 0.01 and low <= k / n <= high


def test_tiny_samples_get_no_eu_verdict():
    three = eu_nanomaterial([20.0, 30.0, 40.0])  # 100 % inside, but 3 particles
    assert three["share_1_100_nm"] == 1.0 and three["share_ci_low"] < 0.5
    assert three["nanomaterial"] is None and three["min_count"] == 30
    clear = eu_nanomaterial(np.full(29, 20.0))  # CI clear of 50 %, still below the minimum count
    assert clear["share_ci_low"] > 0.5 and clear["nanomaterial"] is None
    assert eu_nanomaterial(np.full(30, 20.0))["nanomaterial"] is True


def test_eu_criterion_at_its_edges():
    exactly_half = eu_nanomaterial([50.0, 100.0, 150.0, 250.0])  # 1–100 nm inclusive: 2 of 4
    assert exactly_half["share_1_100_nm"] == 0.5
    assert exactly_half["nanomaterial"] is None  # 4 particles: the interval straddles 50 %, no verdict
    median_100 = eu_nanomaterial([90.0, 100.0, 100.0, 110.0])
    assert median_100["median_feret_min_nm"] == 100.0 and median_100["median_at_most_100_nm"] is True
    below_one = eu_nanomaterial([0.9, 0.95, 1.0, 120.0])
    assert below_one["share_1_100_nm"] == 0.25 and below_one["nanomaterial"] is None
    assert below_one["share_ci_low"] <= 0.25 <= below_one["share_ci_high"]
    assert "projection" in below_one["limitation"]
    assert eu_nanomaterial([])["nanomaterial"] is None
    rng = np.random.default_rng(0)
    assert eu_nanomaterial(rng.uniform(10, 120, 300))["nanomaterial"] is True  # 82 % inside, CI clear
    assert eu_nanomaterial(rng.uniform(60, 300, 300))["nanomaterial"] is False  # 17 % inside


def test_weighted_distributions_sum_to_one_and_area_favours_large():
    d = np.concatenate([np.full(90, 10.0), np.full(10, 30.0)])
    table = weighted_distribution(d, bins=[0, 20, 40])
    assert table["number_fraction"].tolist() == pytest.approx([0.9, 0.1])
    assert table["area_fraction"].tolist() == pytest.approx([900 / 1800, 900 / 1800])


def test_sample_statistics_groups_by_sample():
    table = pd.DataFrame(
        {
            "sample": ["a"] * 3 + ["b"] * 2,
            "equivalent_diameter_nm": [1.0, 2.0, 3.0, 10.0, 20.0],
            "feret_min_nm": [1.0, 2.0, 3.0, 10.0, 20.0],
            "feret_max_nm": [1.0, 2.0, 3.0, 10.0, 20.0],
            "area_nm2": [1.0, 2.0, 3.0, 10.0, 20.0],
            "aspect_ratio": [1.0] * 5,
            "circularity": [1.0] * 5,
        }
    )
    out = sample_statistics(table)
    ecd = out[out["measure"] == "equivalent_diameter_nm"].set_index("sample")
    assert ecd.loc["a", "count"] == 3 and ecd.loc["b", "mean"] == 15.0


def test_comparison_against_scipy():
    rng = np.random.default_rng(0)
    a, m = rng.normal(10, 1, 300), rng.normal(10.5, 1.2, 200)
    out = compare_sizes(a, m)
    assert out["difference_nm"] == pytest.approx(a.mean() - m.mean())
    welch = stats.ttest_ind(a, m, equal_var=False).confidence_interval(0.95)
    assert out["difference_ci_low_nm"] == pytest.approx(welch.low)
    assert out["difference_ci_high_nm"] == pytest.approx(welch.high)
    assert out["ks_pvalue"] == pytest.approx(stats.ks_2samp(a, m).pvalue)
