"""Distribution plots: fitted curves, counts in the figure, PNG and SVG on disk."""

import numpy as np
import pandas as pd

from nanosizer.report.plots import histogram_figure, write_sample_plots


def test_histogram_states_count_and_fits_both_laws():
    sizes = np.random.default_rng(0).lognormal(np.log(20), 0.2, 300)
    fig = histogram_figure(sizes, "equivalent_diameter_nm")
    ax = fig.axes[0]
    texts = " ".join(t.get_text() for t in ax.texts)
    assert "n = 300" in texts
    labels = " | ".join(line.get_label() for line in ax.get_lines())
    assert "normal μ=" in labels and "log-normal median=" in labels
    empty = histogram_figure([], "equivalent_diameter_nm")
    assert "no particles" in " ".join(t.get_text() for t in empty.axes[0].texts)


def test_every_sample_plot_is_written_as_png_and_svg(tmp_path):
    rng = np.random.default_rng(1)
    fmin = rng.uniform(5, 20, 50)
    table = pd.DataFrame(
        {
            "image": ["a"] * 25 + ["b"] * 25,
            "equivalent_diameter_nm": fmin * 1.1,
            "feret_min_nm": fmin,
            "feret_max_nm": fmin * 1.3,
            "circularity": rng.uniform(0.8, 1.0, 50),
            "aspect_ratio": rng.uniform(1.0, 1.5, 50),
        }
    )
    written = write_sample_plots(table, tmp_path, "lot 7/a")
    assert len(written) == 2 * 7 and all(p.stat().st_size > 1000 for p in written)
    assert {p.suffix for p in written} == {".png", ".svg"} and all("lot_7_a" in p.name for p in written)


def test_a_poor_fit_is_said_on_the_histogram():
    from nanosizer.report.plots import histogram_figure, poor_fit

    rng = np.random.default_rng(0)
    one = rng.lognormal(3.0, 0.2, 300)
    three = np.concatenate([rng.normal(5, 0.5, 100), rng.normal(20, 1, 100), rng.normal(60, 3, 100)])
    assert not poor_fit(one) and poor_fit(three)
    texts = [t.get_text() for t in histogram_figure(three, "equivalent_diameter_nm").axes[0].texts]
    assert any("poor fit" in t for t in texts)
    assert not any("poor fit" in t for t in (x.get_text() for x in histogram_figure(one, "x").axes[0].texts))
