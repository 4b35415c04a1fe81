"""Distribution plots of a sample (matplotlib, Agg backend), as PNG and SVG.

Histograms of sizes carry the fitted normal and log-normal curves (the paper's Fig. 4); shape
histograms, Feret max against Feret min, and the per-image mean diameter (drift across the
imaged regions) complete the set.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..files import atomic_path

LABELS = {
    "equivalent_diameter_nm": "equivalent circular diameter (nm)",
    "feret_min_nm": "minimum Feret diameter (nm)",
    "feret_max_nm": "maximum Feret diameter (nm)",
    "circularity": "circularity",
    "aspect_ratio": "aspect ratio (Feret max / min)",
    "confidence": "confidence (mean particle probability inside)",
}
SIZE_PLOTS = ("equivalent_diameter_nm", "feret_min_nm", "feret_max_nm")
SHAPE_PLOTS = ("circularity", "aspect_ratio")


def _figure(width=5.0, height=3.6):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=120, layout="constrained")


def histogram_figure(values, measure: str, title: str = "", fit: bool = True):
    """Histogram (density) with fitted normal and log-normal curves for positive sizes."""
    from scipy import stats

    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    fig = _figure()
    ax = fig.add_subplot()
    ax.set_xlabel(LABELS.get(measure, measure))
    ax.set_ylabel("probability density")
    ax.set_title(title or LABELS.get(measure, measure), fontsize=10)
    if v.size == 0:
        ax.text(0.5, 0.5, "no particles", ha="center", transform=ax.transAxes)
        return fig
    ax.hist(v, bins="auto" if v.size > 20 else 10, density=True, color="#9ecae1", edgecolor="#3182bd")
    text = f"n = {v.size}\nmean = {v.mean():.3g} ± {v.std(ddof=1) if v.size > 1 else 0:.2g}"
    if fit and v.size > 2 and v.std() > 0:
        x = np.linspace(max(v.min() * 0.8, 0), v.max() * 1.15, 300)
        mu, sigma = stats.norm.fit(v)
        if poor_fit(v):
            text += "\npoor fit of both curves (KS p < 0.01):\nseveral populations?"
        ax.plot(x, stats.norm.pdf(x, mu, sigma), color="#e6550d", label=f"normal μ={mu:.3g}, σ={sigma:.2g}")
        if (v > 0).all():
            shape, _, scale = stats.lognorm.fit(v, floc=0)
            ax.plot(
                x,
                stats.lognorm.pdf(x, shape, 0, scale),
                color="#31a354",
                linestyle="--",
                label=f"log-normal median={scale:.3g}, σ={shape:.2g}",
            )
        ax.legend(fontsize=8.5, loc="upper right")
    ax.text(0.02, 0.97, text, transform=ax.transAxes, va="top", fontsize=9)
    return fig


def poor_fit(values) -> bool:
    """Whether neither a normal nor (for positive values) a log-normal law fits ``values``:
    Kolmogorov-Smirnov p < 0.01 against both fitted laws (e.g. a trimodal histogram of three
    materials pooled), so their parameters should not be read as the sample's."""
    from scipy import stats

    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if v.size < 20 or v.std() == 0:
        return False
    normal = stats.kstest(v, "norm", args=stats.norm.fit(v)).pvalue
    if not (v > 0).all():
        return normal < 0.01
    shape, _, scale = stats.lognorm.fit(v, floc=0)
    return max(normal, stats.kstest(v, "lognorm", args=(shape, 0, scale)).pvalue) < 0.01


def feret_scatter_figure(particles: pd.DataFrame, title: str = ""):
    """Feret max against Feret min, with the line of isotropic particles."""
    fig = _figure(4.4, 4.0)
    ax = fig.add_subplot()
    fmin, fmax = particles["feret_min_nm"].to_numpy(float), particles["feret_max_nm"].to_numpy(float)
    ax.scatter(fmin, fmax, s=6, alpha=0.5, color="#3182bd", edgecolors="none")
    top = float(np.nanmax(fmax)) * 1.05 if fmax.size else 1.0
    ax.plot([0, top], [0, top], color="grey", linewidth=0.8, label="Feret max = Feret min")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel(LABELS["feret_min_nm"])
    ax.set_ylabel(LABELS["feret_max_nm"])
    ax.set_title(title or "Feret diameters", fontsize=10)
    ax.legend(fontsize=8.5)
    return fig


def per_image_figure(particles: pd.DataFrame, measure: str = "equivalent_diameter_nm", title: str = ""):
    """Mean ± std of a measure per image, in run order: drift across the imaged regions."""
    fig = _figure(max(4.0, 0.25 * particles["image"].nunique() + 2), 3.4)
    ax = fig.add_subplot()
    grouped = particles.groupby("image", sort=False)[measure]
    means, stds, counts = grouped.mean(), grouped.std(), grouped.size()
    x = np.arange(len(means))
    ax.errorbar(x, means.to_numpy(), yerr=stds.fillna(0).to_numpy(), fmt="o", color="#3182bd", capsize=3)
    if len(particles):
        ax.axhline(particles[measure].mean(), color="grey", linewidth=0.8, label="sample mean")
        ax.legend(fontsize=8.5)
    ax.set_xticks(
        x, [f"{name}\n(n={n})" for name, n in counts.items()], rotation=60, fontsize=7.5, ha="right"
    )
    ax.set_ylabel(LABELS.get(measure, measure))
    ax.set_title(title or "per-image mean ± std", fontsize=10)
    return fig


def save_figure(fig, target_stem: Path) -> list[Path]:
    """Write ``<stem>.png`` and ``<stem>.svg`` atomically; returns both paths."""
    written = []
    for fmt in ("png", "svg"):
        target = target_stem.with_suffix(f".{fmt}")
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format=fmt)
        written.append(target)
    return written


def write_sample_plots(particles: pd.DataFrame, folder: str | Path, sample: str) -> list[Path]:
    """Every plot of one sample into ``folder`` (names start with the sample name)."""
    folder = Path(folder)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(sample))
    written = []
    for measure in SIZE_PLOTS + SHAPE_PLOTS:
        fig = histogram_figure(
            particles[measure], measure, f"{sample}: {LABELS[measure]}", measure in SIZE_PLOTS
        )
        written += save_figure(fig, folder / f"{safe}_{measure}")
    written += save_figure(
        feret_scatter_figure(particles, f"{sample}: Feret diameters"), folder / f"{safe}_feret_scatter"
    )
    written += save_figure(
        per_image_figure(particles, title=f"{sample}: mean ECD per image"), folder / f"{safe}_per_image"
    )
    if "confidence" in particles and particles["confidence"].notna().any():  # the network's, when it ran
        fig = histogram_figure(
            particles["confidence"], "confidence", f"{sample}: {LABELS['confidence']}", False
        )
        written += save_figure(fig, folder / f"{safe}_confidence")
    return written
