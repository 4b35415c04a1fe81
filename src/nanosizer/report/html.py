"""``report.html``: one self-contained page per run (images embedded, no network needed)."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..files import write_text
from ..quality import Quality

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;
color:#222;line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}
h2{margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;font-size:.85rem;margin:.6rem 0}
td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:right}th{background:#f3f6fa}
td:first-child,th:first-child{text-align:left}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(480px,1fr));gap:1rem}
figure{margin:0;border:1px solid #e3e3e3;border-radius:6px;padding:.5rem;background:#fafafa}
figure img{width:100%;height:auto}figcaption{font-size:.8rem;color:#555}
.note{color:#555;font-size:.85rem}.bad{color:#b00}
.badge{display:inline-block;border-radius:4px;padding:0 .35rem;font-size:.78rem;font-weight:600;color:#fff}
.ok{background:#2a7d2a}.doubtful{background:#c77c00}.unreliable{background:#b00}
"""


def _img_tag(data: bytes, alt: str, mime: str = "image/png") -> str:
    return f'<img alt="{html.escape(alt)}" src="data:{mime};base64,{base64.b64encode(data).decode()}">'


def _thumbnail(path: Path, width: int = 480) -> bytes | None:
    """A small PNG of an overlay for the gallery (None when the file is missing).

    Coloured outlines are thickened by the shrink factor first, so they stay visible in the
    thumbnail instead of averaging away into the grey image.
    """
    from PIL import Image

    if not path.is_file():
        return None
    with Image.open(path) as im:
        rgb = np.asarray(im.convert("RGB"))
    factor = rgb.shape[1] / width
    if factor > 1.5:
        rgb = _thicken_colours(rgb, int(np.ceil(factor)))
    picture = Image.fromarray(rgb)
    if picture.width > width:
        size = (width, max(1, round(picture.height * width / picture.width)))
        picture = picture.resize(size, Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    picture.save(buf, format="PNG", optimize=False, compress_level=6)
    return buf.getvalue()


def _thicken_colours(rgb: np.ndarray, size: int) -> np.ndarray:
    """Spread every non-grey (outline) pixel over a ``size`` square, over the grey image."""
    from scipy import ndimage as ndi

    from ..files import split_greys

    grey, colours, index = split_greys(rgb)
    if grey.all():
        return rgb
    codes = np.zeros(rgb.shape[:2], np.int32)
    codes[~grey] = index + 1
    spread = ndi.maximum_filter(codes, size=size)
    out = rgb.copy()
    out[spread > 0] = colours[spread[spread > 0] - 1]
    return out


def _table(frame: pd.DataFrame, digits: int = 4, markup: tuple[str, ...] = ()) -> str:
    """An HTML table; the ``markup`` columns hold HTML already (escaped by their maker)."""

    def fmt(v, column):
        if column in markup:
            return str(v)
        if isinstance(v, (float, np.floating)):
            return "" if not np.isfinite(v) else f"{v:.{digits}g}"
        return html.escape(str(v))

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{fmt(v, c)}</td>" for v, c in zip(row, frame.columns, strict=True)) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_report(
    out_dir: str | Path,
    statistics: pd.DataFrame,
    eu: dict,
    images: list[str],
    settings: dict,
    plots: dict[str, list[Path]],
    failures: list[tuple[str, str]],
    title: str = "nanosizer report",
    provenance: dict | None = None,
    left_out: list[str] = (),
) -> Path:
    """Write ``OUT/report.html`` from the run's statistics, plots and per-image folders.

    ``provenance`` (nanosizer version, model, date, command line) heads the page, so a
    printed report says how it was made. ``left_out`` names the unreliable images kept out of
    the statistics; they are listed first with their reasons, and every image carries its
    quality verdict (:mod:`nanosizer.quality`) in the table and the gallery.
    """
    out_dir = Path(out_dir)
    summaries = {name: _summary(out_dir / name / "summary.json") for name in images}
    rank = {"unreliable": 0, "doubtful": 1}
    images = sorted(images, key=lambda name: rank.get(_verdict(summaries[name]), 2))  # stable: run order
    summaries = {name: summaries[name] for name in images}
    total = sum(s.get("count", 0) for name, s in summaries.items() if name not in left_out)
    parts = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>",
    ]
    if provenance:
        items = " · ".join(
            f"{html.escape(k)}: <code>{html.escape(str(v))}</code>" for k, v in provenance.items()
        )
        parts.append(f"<p class='note'>{items}</p>")
    samples = statistics["sample"].nunique() if len(statistics) else 0
    parts.append(
        f"<p class='note'>{len(images)} image(s), {total} particle(s) in {samples} sample(s). Lengths in nm, "
        "areas in nm². Intervals are 95 % bootstrap confidence intervals.</p>"
    )
    parts.append(_quality_section(summaries, left_out))
    parts.append("<h2>Sample statistics</h2>")
    cols = ["sample", "measure", "count", "mean", "std", "d10", "d50", "d50_ci_low", "d50_ci_high", "d90"]
    parts.append(_table(statistics[[c for c in cols if c in statistics]]))
    parts.append("<p class='note'>d50 is the median.</p>")
    parts.append("<h2>EU nanomaterial criterion (2022/C 229/01)</h2>")
    for sample, crit in eu.items():
        parts.append(_eu_paragraph(str(sample), crit))
    parts.append(
        "<p class='note'>Limitation: a micrograph is a 2-D projection; the particle thickness along the beam "
        "is not measured, so the smallest external dimension may be smaller than the Feret min.</p>"
    )
    parts.append("<h2>Distributions</h2>")
    for sample, files in plots.items():
        parts.append(f"<h3>{html.escape(str(sample))}</h3><div class='grid'>")
        for path in files:
            if path.suffix == ".png" and path.is_file():
                parts.append(
                    f"<figure>{_img_tag(path.read_bytes(), path.stem)}<figcaption>{html.escape(path.stem)} "
                    f"(<a href='plots/{html.escape(path.stem)}.svg'>SVG</a>)</figcaption></figure>"
                )
        parts.append("</div>")
    parts.append("<h2>Images</h2>")
    parts.append(_image_table(summaries))
    parts.append("<div class='grid'>")
    for name in images:
        thumb = _thumbnail(out_dir / name / "overlay.png")
        link = html.escape(name)
        img = _img_tag(thumb, name) if thumb else "<p class='bad'>overlay missing</p>"
        s = summaries[name]
        counts = (
            f"{s.get('count', '?')} particle(s), {s.get('excluded_region_count', 0)} region(s) excluded"
            if s
            else "no summary"
        )
        parts.append(
            f"<figure><a href='{link}/overlay.png'>{img}</a><figcaption>{_badge(s)} "
            f"<b>{link}</b>: {counts} — "
            f"<a href='{link}/particles.csv'>particles.csv</a> · "
            f"<a href='{link}/summary.json'>summary.json</a> · "
            f"<a href='{link}/labels.tif'>labels.tif</a></figcaption></figure>"
        )
    parts.append("</div>")
    parts.append(
        "<p class='note'>Outlines: cyan, particles as segmented; magenta, split off an overlap; orange, "
        "segmented but not measured (the reason is written beside it).</p>"
    )
    if failures:
        parts.append("<h2 class='bad'>Failures</h2><ul>")
        parts += [f"<li><code>{html.escape(f)}</code>: {html.escape(r)}</li>" for f, r in failures]
        parts.append("</ul>")
    parts.append("<h2>Settings</h2>")
    parts.append(
        _table(pd.DataFrame({"setting": list(settings), "value": [str(v) for v in settings.values()]}))
    )
    parts.append("</body></html>")
    target = out_dir / "report.html"
    write_text(target, "\n".join(parts))
    return target


def _verdict(summary: dict) -> str:
    quality = Quality.from_summary(summary)
    return "" if quality is None else quality.verdict


def _badge(summary: dict) -> str:
    """The image's quality verdict as a coloured badge, its reasons as the tooltip."""
    quality = Quality.from_summary(summary)
    if quality is None:
        return ""
    reasons = html.escape("; ".join(quality.reasons), quote=True)
    return f"<span class='badge {quality.verdict}' title='{reasons}'>{quality.verdict}</span>"


def _quality_section(summaries: dict[str, dict], left_out) -> str:
    """The doubtful and unreliable images with their reasons, and which are left out."""
    flagged = {name: s for name, s in summaries.items() if _verdict(s) in ("doubtful", "unreliable")}
    if not flagged:
        return ""
    parts = ["<h2 class='bad'>Images that could not be analysed reliably</h2><ul>"]
    for name, s in flagged.items():
        reasons = "; ".join(Quality.from_summary(s).reasons)
        where = " <b>Left out of the statistics.</b>" if name in left_out else ""
        parts.append(f"<li>{_badge(s)} <b>{html.escape(name)}</b>: {html.escape(reasons)}.{where}</li>")
    parts.append(
        "</ul><p class='note'>unreliable: the network half-responds to much of the image or most of "
        "what it found could not be measured (an imaging mode it was not trained on: carbon grain, "
        "lattice fringes, a support); such images stay out of the pooled tables, statistics, plots "
        "and EU criterion unless <code>--keep-unreliable</code>. doubtful: check the overlay.</p>"
    )
    return "\n".join(parts)


def _summary(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _eu_paragraph(sample: str, crit: dict) -> str:
    name = f"<b>{html.escape(sample)}</b>"
    if not crit["count"]:
        return f"<p>{name}: no particles.</p>"
    share = (
        f"{crit['share_1_100_nm']:.1%} of {crit['count']} particles have a Feret min in 1–100 nm "
        f"(95 % CI {crit['share_ci_low']:.1%}–{crit['share_ci_high']:.1%}); number-based median Feret "
        f"min {crit['median_feret_min_nm']:.3g} nm; "
    )
    if crit.get("nanomaterial") is None and crit["count"] < crit.get("min_count", 0):
        verdict = (
            f"<span class='bad'>no verdict</span>: fewer than {crit['min_count']} particles "
            "(analyse more particles)."
        )
    elif crit.get("nanomaterial") is None:
        verdict = (
            "<span class='bad'>no verdict</span>: the interval includes 50 %, so these particles cannot "
            "tell whether the sample meets the ≥ 50 % criterion (analyse more particles)."
        )
    else:
        verdict = f"the sample {'meets' if crit['nanomaterial'] else 'does not meet'} the ≥ 50 % criterion."
    return f"<p>{name}: {share}{verdict}</p>"


def _image_table(summaries: dict[str, dict]) -> str:
    """One row per image: pixel size and its source, counts, share measured, analysis time."""
    rows = []
    for name, s in summaries.items():
        timings = s.get("timings_s") or {}
        rows.append(
            {
                "quality": _badge(s),
                "image": name,
                "file": Path(s["source"]).name if s.get("source") else "",
                "pixel size (nm)": s.get("pixel_size_nm", np.nan),
                "pixel size from": s.get("pixel_size_source", ""),
                "particles": s.get("count", ""),
                "regions excluded": s.get("excluded_region_count", ""),
                "particle area measured": f"{1 - s.get('unmeasured_area_fraction', 0.0):.0%}" if s else "",
                "time (s)": round(sum(timings.values()), 2) if timings else np.nan,
            }
        )
    return _table(pd.DataFrame(rows), markup=("quality",))
