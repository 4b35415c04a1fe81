"""Automated sizes against a manual list, as the paper compares with its human evaluator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import NanosizerError

_SIZE_WORDS = ("diameter", "ecd", "size")
MEASURE_NAMES = {
    "equivalent_diameter_nm": "ECD",
    "feret_min_nm": "Feret min",
    "feret_max_nm": "Feret max",
}


def measure_of_column(name: str) -> str | None:
    """The automated measure a manual column names: Feret min for a header with 'feret' and
    'min', Feret max for any other 'feret' (ImageJ's Feret is the largest caliper), the ECD for
    a diameter, ECD or size; None for anything else (an area, a count).

    >>> measure_of_column("Feret (nm)"), measure_of_column("MinFeret"), measure_of_column("d_nm")
    ('feret_max_nm', 'feret_min_nm', None)
    """
    lower = name.lower()
    if "feret" in lower:
        return "feret_min_nm" if "min" in lower else "feret_max_nm"
    if any(word in lower for word in _SIZE_WORDS):
        return "equivalent_diameter_nm"
    return None


def read_manual_sizes(path: str | Path, column: str | None = None) -> tuple[np.ndarray, str, str]:
    """Diameters in nm from a CSV of manual measurements, how they were read (column and unit)
    and the column's name.

    The column is ``column`` (a header name or a 1-based number) or, without it, the one whose
    header names a diameter (``diameter``, ``ecd`` or ``size``, with or without a unit such as
    ``diameter_nm``, ``ECD (µm)``); a file of one column is that column. A unit in the header
    (nm, µm, Å, pm) is converted to nm; without one, nm is assumed. An ambiguous or
    non-numeric choice is refused with the reason, never guessed.
    """
    from ..io.units import nm_per_unit

    path = Path(path)
    try:
        frame = pd.read_csv(path, header=None, comment="#", dtype=str, skip_blank_lines=True)
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise NanosizerError(f"cannot read the manual size list ({exc})", path) from None
    first = frame.iloc[0] if len(frame) else pd.Series(dtype=str)
    has_header = bool(len(frame)) and pd.to_numeric(first, errors="coerce").isna().any()
    names = [str(v).strip() for v in first] if has_header else [f"column {k + 1}" for k in frame.columns]
    body = frame.iloc[1:] if has_header else frame
    index = _pick_column(names, column, path)
    name = names[index]
    values = pd.to_numeric(body.iloc[:, index], errors="coerce").to_numpy(float)
    numeric = np.isfinite(values)
    if numeric.sum() < max(2, 0.9 * body.iloc[:, index].notna().sum()):
        raise NanosizerError(
            f"column {name!r} is not a list of numbers ({int(numeric.sum())} of "
            f"{int(body.iloc[:, index].notna().sum())} values numeric); choose one with --column",
            path,
        )
    unit = _unit_in_name(name) if has_header else None
    scale = 1.0 if unit is None else nm_per_unit(unit)
    if unit is None:
        how = f"column {name!r} (no unit given: nm assumed)"
    else:
        how = f"column {name!r} (nm)" if scale == 1.0 else f"column {name!r} ({unit}, converted to nm)"
    return values[numeric] * scale, how, name


def _pick_column(names: list[str], column: str | None, path: Path) -> int:
    if column is not None:
        if column in names:
            return names.index(column)
        if column.isdigit() and 1 <= int(column) <= len(names):
            return int(column) - 1
        raise NanosizerError(f"no column {column!r}; columns: {', '.join(names)}", path)
    if len(names) == 1:
        return 0
    sizes = [k for k, n in enumerate(names) if any(w in n.lower() for w in _SIZE_WORDS)]
    if len(sizes) == 1:
        return sizes[0]
    what = "several columns name a size" if sizes else "no column names a diameter (diameter, ecd, size)"
    raise NanosizerError(f"{what}; columns: {', '.join(names)}; say which with --column", path)


def _unit_in_name(name: str) -> str | None:
    """The length unit a header carries (``diameter_nm``, ``ECD (µm)``, ``size [A]``), if any."""
    import re

    from ..io.units import nm_per_unit

    tokens = [t for t in re.split(r"[\s_()\[\]/,;:-]+", name) if t]
    for token in reversed(tokens[1:] if len(tokens) > 1 else []):
        if token.lower() not in ("m", "a") and nm_per_unit(token) is not None:
            return token
    return None


def read_automated_sizes(results: str | Path, measure: str = "equivalent_diameter_nm") -> np.ndarray:
    """A measure of every particle of a results folder (its ``particles.csv``) or of a table file."""
    results = Path(results)
    table_path = results / "particles.csv" if results.is_dir() else results
    try:
        table = pd.read_csv(table_path)
    except (OSError, ValueError) as exc:
        raise NanosizerError(f"cannot read the particle table ({exc})", table_path) from None
    if measure not in table:
        raise NanosizerError(f"no column {measure!r} in the particle table", table_path)
    return table[measure].to_numpy(float)


def compare_sizes(automated, manual) -> dict:
    """Means ± std, the difference of means with a 95 % Welch interval, and a two-sample KS test."""
    from scipy import stats

    a, m = np.asarray(automated, float), np.asarray(manual, float)
    a, m = a[np.isfinite(a)], m[np.isfinite(m)]
    va, vm = a.var(ddof=1) / a.size, m.var(ddof=1) / m.size
    diff = a.mean() - m.mean()
    se = np.sqrt(va + vm)
    dof = (va + vm) ** 2 / (va**2 / (a.size - 1) + vm**2 / (m.size - 1)) if se > 0 else np.inf
    half = stats.t.ppf(0.975, dof) * se if se > 0 else 0.0
    ks = stats.ks_2samp(a, m)
    return {
        "automated_count": int(a.size),
        "automated_mean_nm": float(a.mean()),
        "automated_std_nm": float(a.std(ddof=1)),
        "manual_count": int(m.size),
        "manual_mean_nm": float(m.mean()),
        "manual_std_nm": float(m.std(ddof=1)),
        "difference_nm": float(diff),
        "difference_ci_low_nm": float(diff - half),
        "difference_ci_high_nm": float(diff + half),
        "relative_difference": float(diff / m.mean()),
        "ks_statistic": float(ks.statistic),
        "ks_pvalue": float(ks.pvalue),
    }


def comparison_figure(automated, manual, measure_label: str = "equivalent circular diameter (nm)"):
    """Overlaid density histograms of the automated and manual sizes on shared bins."""
    from matplotlib.figure import Figure

    a, m = np.asarray(automated, float), np.asarray(manual, float)
    edges = np.histogram_bin_edges(np.concatenate([a, m]), bins="auto")
    fig = Figure(figsize=(5, 3.6), dpi=120, layout="constrained")
    ax = fig.add_subplot()
    ax.hist(m, edges, density=True, alpha=0.55, color="#fd8d3c", label=f"manual (n={m.size})")
    ax.hist(a, edges, density=True, alpha=0.55, color="#3182bd", label=f"nanosizer (n={a.size})")
    ax.set_xlabel(measure_label)
    ax.set_ylabel("probability density")
    ax.legend(fontsize=8)
    return fig


def write_comparison(
    folder: str | Path,
    automated,
    manual,
    stats: dict,
    measure_label: str = "equivalent circular diameter (nm)",
) -> Path:
    """``comparison.csv`` (the statistics of :func:`compare_sizes`) and ``comparison.png``
    (:func:`comparison_figure`) in ``folder``; returns the CSV's path."""
    from ..files import atomic_path, write_csv

    folder = Path(folder)
    write_csv(pd.DataFrame([stats]), folder / "comparison.csv")
    with atomic_path(folder / "comparison.png") as tmp:
        comparison_figure(automated, manual, measure_label).savefig(tmp, format="png")
    return folder / "comparison.csv"
