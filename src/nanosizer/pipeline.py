"""One micrograph through every stage: segment → clean → separate → measure.

The CLI and the Python API both call :func:`analyze_micrograph`; nothing here writes files.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Generator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import __version__
from .errors import CalibrationError
from .io import Micrograph
from .measure import describe_measures, measure_regions
from .quality import Quality, image_signals, judge, particle_confidence
from .regions import paint_labels
from .segment import ShapeField, clean_mask, segment_with_shapes
from .separate import Separation, separate_particles
from .separate.learned import BORDER_REASON
from .settings import Settings

UNMEASURED_WARNING = 0.10  # warn when more of the particle area than this is not measured


@dataclass
class AnalysisResult:
    """Everything known about one analysed micrograph.

    Attributes
    ----------
    micrograph : Micrograph
        The input, with its pixel size and provenance.
    segmentation : (M, N) bool ndarray
        Binary particle map before separation (after speck removal and hole filling).
    labels : (M, N) uint16/uint32 ndarray
        Instance labels, 0 = background, value = ``particle_id``.
    particles : pandas.DataFrame
        One row per particle, columns in physical units.
    summary : dict
        Counts, mean ± std of every measure, settings, pixel size and timings (JSON-ready).
    probability : (M, N) uint8 ndarray or None
        The network's particle probability × 255 (None for the threshold segmenter).
    quality : Quality or None
        The verdict on the whole image (``ok`` / ``doubtful`` / ``unreliable``), its reasons
        and the signals it rests on (:mod:`nanosizer.quality`).
    """

    micrograph: Micrograph
    segmentation: np.ndarray
    labels: np.ndarray
    particles: pd.DataFrame
    separation: Separation
    settings: Settings
    timings: dict = field(default_factory=dict)
    probability: np.ndarray | None = None
    quality: Quality | None = None

    @property
    def summary(self) -> dict:
        return summarize(self)


def analyze_micrograph(
    micrograph: Micrograph, settings: Settings | None = None, mask: np.ndarray | None = None
) -> AnalysisResult:
    """Analyse one micrograph; with ``mask`` the given binary map replaces segmentation."""
    stages = iter_analysis(micrograph, settings, mask)
    while True:
        try:
            next(stages)
        except StopIteration as done:
            return done.value


ANALYSIS_STAGES = ("segment", "separate", "measure")


def iter_analysis(
    micrograph: Micrograph, settings: Settings | None = None, mask: np.ndarray | None = None
) -> Generator[str, None, AnalysisResult]:
    """:func:`analyze_micrograph` one stage at a time: yields the name of each stage of
    :data:`ANALYSIS_STAGES` as it finishes and returns the result (for progress in a GUI)."""
    timings: dict[str, float] = {}
    asked = settings or Settings()
    micrograph, settings, binary, shapes, probability = prepared_map(micrograph, asked, mask, timings)
    yield "segment"
    px = micrograph.pixel_size_nm
    tic = time.perf_counter()
    separation = separate_particles(binary, px, settings, shapes)
    timings["separate_s"] = time.perf_counter() - tic
    if separation.fine_regions:
        micrograph.notes.append(
            f"{separation.fine_regions} region(s) of close-packed small particles (rafts) outlined on "
            "the image enlarged for them"
        )
    if separation.coarse_regions:
        micrograph.notes.append(
            f"outlines of {separation.coarse_regions} region(s) wider than the shape head knows also "
            "predicted on the image shrunk for them"
        )
    yield "separate"
    tic = time.perf_counter()
    labels = paint_labels(separation.particles, binary.shape)  # painted once: output and hidden parts
    table = measure_regions(
        separation.particles,
        px,
        settings.convexity_threshold,
        settings.solidity_threshold,
        settings.min_shape_px,
        labels,
    )
    table["confidence"] = particle_confidence(labels, probability, table["particle_id"])
    timings["measure_s"] = time.perf_counter() - tic
    yield "measure"
    result = AnalysisResult(micrograph, binary, labels, table, separation, settings, timings, probability)
    signals = image_signals(micrograph.data, binary, probability, unmeasured_fraction(result), len(table))
    assumed = _polarity_assumed(micrograph, asked, settings)
    result.quality = judge(signals, len(table), polarity_assumed=assumed)
    if assumed and result.quality.verdict != "ok":  # failed: does the image look dark-field?
        from .segment.polarity import bright_spot_ratio

        signals["bright_spot_ratio"] = round(bright_spot_ratio(micrograph.data), 2)
        result.quality = judge(signals, len(table), polarity_assumed=assumed)
    return result


def _polarity_assumed(micrograph: Micrograph, asked: Settings, decided: Settings) -> bool:
    """Whether the particles were taken as dark only because nothing said otherwise
    (``--particles auto`` on a file whose metadata names no detector)."""
    from .io.detector import names_detector

    detector = str(micrograph.metadata.get("detector") or micrograph.metadata.get("title") or "")
    return asked.particles == "auto" and decided.particles == "dark" and not names_detector(detector)


def segment_micrograph(
    micrograph: Micrograph, settings: Settings, mask: np.ndarray | None = None, notes: list | None = None
) -> np.ndarray:
    """Cleaned binary particle map (specks removed, small holes filled) of a micrograph, or of
    its region of interest when the settings name one.

    With ``mask`` the given map replaces the segmenter; it is cleaned the same way. Notes on
    how the map was made are appended to ``notes``.
    """
    prepared, _, binary, _, _ = prepared_map(micrograph, settings, mask)
    if notes is not None:
        notes.extend(prepared.notes[len(micrograph.notes) :])
    return binary


def prepared_map(
    micrograph: Micrograph, settings: Settings, mask: np.ndarray | None = None, timings: dict | None = None
) -> tuple[Micrograph, Settings, np.ndarray, ShapeField | None, np.ndarray | None]:
    """What every analysis starts with: the region of interest cut out, ``particles='auto'``
    decided, the pixel size checked, then the segmenter's map (or ``mask``) cleaned.

    Returns the micrograph as analysed (its own copy of the notes), the settings as decided,
    the cleaned binary map, for learned separation the network's outline predictions, and the
    network's particle probability as uint8 (0-255; None without the network);
    ``segment_s`` and ``clean_s`` go into ``timings``.
    """
    if settings.roi is not None:
        micrograph, mask = crop_to_roi(micrograph, settings.roi, mask)
    micrograph = dataclasses.replace(micrograph, notes=list(micrograph.notes))  # never alter the input
    settings = resolve_separation(resolve_particles(micrograph, settings, micrograph.notes))
    px = micrograph.pixel_size_nm
    problem = settings.check_pixel_size(px)
    if problem:
        raise CalibrationError(f"{problem} (from {micrograph.pixel_size_source})", micrograph.path)
    timings = {} if timings is None else timings
    tic = time.perf_counter()
    binary, shapes, probability = binary_map(micrograph, settings, mask, micrograph.notes)
    timings["segment_s"] = time.perf_counter() - tic
    tic = time.perf_counter()
    binary = clean_mask(binary, px, settings.min_particle_ecd_nm, settings.max_hole_ecd_nm)
    timings["clean_s"] = time.perf_counter() - tic
    if probability is not None:  # a quarter of the float's memory, resolution 1/255
        probability = np.rint(probability * 255).astype(np.uint8)
    return micrograph, settings, binary, shapes, probability


def resolve_separation(settings: Settings) -> Settings:
    """Settings with ``separation='auto'`` decided: ``learned`` when the network segments with a
    model that has a shape head, else ``uecs`` (the threshold segmenter, older model files)."""
    if settings.separation != "auto":
        return settings
    learned = False
    if settings.segmenter == "network":
        from .segment.network import has_shapes, load_model

        learned = has_shapes(load_model(settings.model))
    return settings.replace(separation="learned" if learned else "uecs")


def resolve_particles(micrograph: Micrograph, settings: Settings, notes: list | None = None) -> Settings:
    """Settings with ``particles='auto'`` decided for this micrograph (the reason goes to ``notes``)."""
    if settings.particles != "auto":
        return settings
    from .segment.polarity import choose_polarity

    particles, reason = choose_polarity(micrograph.metadata, micrograph.data)
    if notes is not None:
        notes.append(f"--particles auto: {reason}")
    return settings.replace(particles=particles)


def binary_map(
    micrograph: Micrograph, settings: Settings, mask: np.ndarray | None = None, notes: list | None = None
) -> tuple[np.ndarray, ShapeField | None, np.ndarray | None]:
    """The segmenter's raw particle map, or the given ``mask`` once checked against the image,
    the network's outline predictions when the separation is learned, and its particle
    probability when it ran.

    With a ``mask`` and learned separation the network still runs on the image: the mask says
    where particles are, the network's shape head how their outlines continue where they overlap.
    """
    if mask is None:
        return segment_with_shapes(micrograph.data, micrograph.pixel_size_nm, settings, notes)
    binary = np.asarray(mask, dtype=bool)
    if binary.shape != micrograph.data.shape:
        raise ValueError(f"mask shape {binary.shape} differs from image shape {micrograph.data.shape}")
    shapes = probability = None
    if settings.separation == "learned":
        _, shapes, probability = segment_with_shapes(micrograph.data, micrograph.pixel_size_nm, settings)
        if notes is not None:
            notes.append(
                "particle map from the given mask; outlines where particles overlap from the network"
            )
    return binary, shapes, probability


def roi_window(shape: tuple[int, int], roi) -> tuple[slice, slice]:
    """Row and column slices of ``roi`` = (top, left, bottom, right) px, clipped to ``shape``."""
    top, left, bottom, right = roi
    h, w = shape
    if top >= h or left >= w:
        raise ValueError(f"roi {tuple(roi)} lies outside the {h}x{w} image")
    return slice(top, min(bottom, h)), slice(left, min(right, w))


def crop_to_roi(micrograph: Micrograph, roi, mask=None):
    """The micrograph (and mask) cut to ``roi`` = (top, left, bottom, right) in pixels."""
    window = roi_window(micrograph.data.shape, roi)
    rows, cols = window
    cropped = dataclasses.replace(
        micrograph,
        data=micrograph.data[window],
        notes=[
            *micrograph.notes,
            f"analysed region of interest rows {rows.start}:{rows.stop}, columns {cols.start}:{cols.stop}",
        ],
    )
    return cropped, (None if mask is None else np.asarray(mask)[window])


def model_provenance(settings: Settings, session_threads: bool = False) -> dict | None:
    """Which network made the segmentation (file and SHA-256), for the summary.

    Read without keeping a session in this process (a batch parent asks before forking its
    workers). With ``session_threads`` the inference threads of this process's session and
    how it computes are added, as an analysed image reports them.
    """
    if settings.segmenter != "network":
        return None
    from .segment.network import load_model, model_identity

    if not session_threads:
        path, sha256, info = model_identity(settings.model)
        return {"file": path.name, "sha256": sha256, "val_iou": info.get("val_iou")}
    model = load_model(settings.model)  # the session this process analysed with (cached)
    return {
        "file": model.path.name,
        "sha256": model.sha256,
        "val_iou": model.info.get("val_iou"),
        "computation": "float reference (unfused graph)" if model.reference else "onnxruntime, optimised",
        "inference_threads": model.threads or "one per core",
    }


def summarize(result: AnalysisResult) -> dict:
    """JSON-ready summary: count, mean and std of every measure, provenance and settings."""
    table = result.particles
    mg = result.micrograph
    stats = {
        name: {stat: _num(value) for stat, value in values.items()}
        for name, values in describe_measures(table).items()
    }
    sep = result.separation
    return {
        "image": mg.name,
        "source": str(mg.path) if mg.path else None,
        "shape_px": list(mg.data.shape),
        "pixel_size_nm": mg.pixel_size_nm,
        "pixel_size_source": mg.pixel_size_source,
        "notes": list(mg.notes),
        "metadata": mg.metadata,
        "count": int(len(table)),
        "separated_count": int(table["separated"].sum()),
        "non_convex_count": int(table["non_convex"].sum()),
        "small_for_shape_count": int(table["small_for_shape"].sum()),
        "regions_found": sep.regions,
        "non_convex_regions": sep.non_convex_regions,
        "border_removed": sep.border_removed,
        "excluded": sep.excluded,
        "excluded_region_count": len(sep.excluded_regions),
        "unmeasured_area_fraction": round(unmeasured_fraction(result), 4),
        "quality": result.quality.to_dict() if result.quality else None,
        "measures": stats,
        "settings": result.settings.to_dict(),
        "settings_hash": result.settings.digest(),
        "model": model_provenance(result.settings, session_threads=True),
        "nanosizer_version": __version__,
        "timings_s": {k: round(v, 4) for k, v in result.timings.items()},
    }


summarise = summarize  # the earlier spelling, kept for a release


BORDER_PIECE_MAX = 3.0  # a border piece up to this many median particles is a cut particle


def unmeasured_fraction(result: AnalysisResult) -> float:
    """Share of the segmented particle area that no measured particle covers.

    Particles cut by the image border are left out by definition and not counted here, nor
    are pieces the learned separation left unoutlined at the border that are no larger than
    :data:`BORDER_PIECE_MAX` times the median particle (crystals cut by the edge of a field of a
    few large ones; a support reaching the border stays counted); what remains is excluded
    regions (unseparable agglomerates, regions without a convex marker) and the necks UECS
    leaves between regrown particles.
    """
    total = int(result.segmentation.sum())
    if total == 0:
        return 0.0
    covered = result.labels > 0
    border = list(result.separation.border_particles)
    if result.separation.particles:
        largest = BORDER_PIECE_MAX * np.median([p.area_px for p in result.separation.particles])
        border += [
            piece
            for piece, reason in result.separation.excluded_regions
            if reason == BORDER_REASON and piece.area_px <= largest
        ]
    if border:
        covered |= paint_labels(border, covered.shape) > 0
    return float((result.segmentation & ~covered).sum() / total)


def image_status(summary: dict) -> tuple[str, bool]:
    """One line on an analysed image for the console, and whether it deserves a warning
    (a doubtful or unreliable verdict, or more than 10 % of the particle area unmeasured)."""
    share = summary.get("unmeasured_area_fraction", 0.0)
    text = (
        f"{summary['image']}: {summary['count']} particle(s), {summary['excluded_region_count']} "
        f"region(s) excluded ({100 * share:.0f} % of the particle area not measured)"
    )
    quality = Quality.from_summary(summary)
    if quality is not None and quality.verdict != "ok":
        text = f"WARNING {text}; {quality.text}; see overlay.png"
        if quality.verdict == "unreliable":
            text += " (kept out of the sample's statistics unless --keep-unreliable)"
        return text, True
    warn = share > UNMEASURED_WARNING
    if warn:
        text = "WARNING " + text + "; see the excluded regions on overlay.png"
    return text, warn


def _num(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None
