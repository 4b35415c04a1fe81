"""Segmentation: micrograph to binary particle map (threshold baseline or trained network)."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from .cleanup import clean_mask
from .preprocess import normalise, particle_signal, support_removed
from .shapes import ShapeField
from .threshold import otsu_separability, segment_threshold, threshold_probability


def segment(image: np.ndarray, pixel_size_nm: float, settings, notes: list | None = None) -> np.ndarray:
    """Binary particle map of a micrograph with the segmenter the settings name.

    What a user should know about how it was made (e.g. the network's working zoom) is
    appended to ``notes``. An undecided ``particles='auto'`` counts as dark here, as it does
    without metadata (:mod:`.polarity`); the pipeline decides it per file first.
    """
    return segment_with_shapes(image, pixel_size_nm, settings, notes)[0]


def segment_with_shapes(
    image: np.ndarray, pixel_size_nm: float, settings, notes: list | None = None
) -> tuple[np.ndarray, ShapeField | None]:
    """:func:`segment`, plus the network's particle outlines (:class:`ShapeField`) from the
    same forward pass when ``settings.separation == 'learned'`` (else None)."""
    learned = settings.separation == "learned"
    if learned and settings.segmenter != "network":
        raise ValueError("learned separation needs the network segmenter (segmenter='network')")
    if settings.segmenter == "network":
        from .network import PHASE_SWITCH, THRESHOLD, auto_zoom, input_maps, load_model, network_input

        data = network_input(image, settings.particles)  # normalised once, also for auto zoom
        if settings.subtract_support_nm:
            data = support_removed(data, settings.subtract_support_nm / pixel_size_nm)
            if notes is not None:
                notes.append(
                    f"support taken away beneath particles up to {settings.subtract_support_nm:g} nm "
                    "across before the network (--set subtract_support_nm)"
                )
        zoom = settings.network_zoom
        if zoom == "auto":
            zoom = auto_zoom(data)
        if zoom != 1.0 and notes is not None:
            how = "automatic" if settings.network_zoom == "auto" else "--network-zoom"
            notes.append(f"network run on the image resampled by {zoom:g} ({how}); results at native pixels")
        mode = imaging_mode(settings, pixel_size_nm)
        if mode == PHASE_SWITCH:
            mode = mode if load_model(settings.model).phase_decoder else None
            if notes is not None and (mode or settings.phase_contrast == "on"):
                notes.append(phase_note(settings, pixel_size_nm, mode is not None))
        prob, shapes = input_maps(data, settings.model, zoom, shapes=learned, mode=mode)
        if settings.second_look and mode is None:  # grey particles beside black ones (bright field)
            from .second_look import second_look

            look = functools.partial(
                input_maps, model_path=settings.model, zoom=zoom, shapes=learned, mode=mode
            )
            prob, shapes, added = second_look(data, prob, shapes, look, THRESHOLD)
            if added and notes is not None:
                notes.append(
                    f"{added} particle region(s) much paler than the darkest found on a second look, "
                    "with the darker ones painted over (--set second_look=false: without)"
                )
        if learned:  # the separation may ask for a coarse pass around regions wider than it knows
            coarse = functools.partial(coarse_fields, data, zoom=zoom, model=settings.model, mode=mode)
            fine = functools.partial(fine_field, data, main_zoom=zoom, model=settings.model, mode=mode)
            shapes = dataclasses.replace(shapes, coarse_pass=coarse, fine_pass=fine, image=data)
        if load_model(settings.model).reference and notes is not None:
            notes.append(
                "model quantised with full 8-bit weights: computed in float so that the result does "
                "not depend on the CPU (slower; re-quantise it with 'nanosizer quantize')"
            )
        found, dropped = confident_regions(prob, prob > THRESHOLD, settings.min_confidence)
        if dropped and notes is not None:
            notes.append(
                f"{dropped} uncertain network region(s) dropped (peak probability below "
                f"{settings.min_confidence:g}; --set min_confidence=0 keeps them)"
            )
        if settings.edge_refinement:
            found = refine_edges(image, found, settings, notes)
        return found, shapes, prob
    return segment_threshold(image, settings.blur_sigma_px, settings.particles), None, None


PHASE_MAX_PIXEL_NM = 0.1  # 'auto' reads images this finely sampled with the phase-contrast decoder


def imaging_mode(settings, pixel_size_nm: float) -> str | None:
    """The imaging mode whose decoder reads the image (:data:`.network.MODES`; None: the native
    one): dark field for bright particles (``particles='bright'``); phase contrast for dark
    particles when ``phase_contrast`` is 'on', or 'auto' and the pixel size is at most
    :data:`PHASE_MAX_PIXEL_NM` (high-resolution TEM, where carbon grain as dark as the
    particles and lattice fringes make the image)."""
    from .network import DARK_SWITCH, PHASE_SWITCH

    if settings.particles == "bright":
        return DARK_SWITCH
    phase = settings.phase_contrast
    if phase == "on" or (phase == "auto" and pixel_size_nm <= PHASE_MAX_PIXEL_NM):
        return PHASE_SWITCH
    return None


def phase_note(settings, pixel_size_nm: float, read: bool = True) -> str:
    """What the summary says when the phase-contrast decoder read the image, and why (``read``
    false: it was asked for, but the model has none)."""
    if not read:
        return "phase_contrast=on, but this model has no phase-contrast decoder: read as usual"
    why = (
        "--set phase_contrast=on"
        if settings.phase_contrast == "on"
        else f"pixel size {pixel_size_nm:g} nm, at most {PHASE_MAX_PIXEL_NM:g}: "
        "--set phase_contrast=off reads it as usual"
    )
    return f"read with the phase-contrast decoder (carbon grain, lattice fringes; {why})"


def coarse_fields(
    data: np.ndarray, wide, zoom: float, model=None, mode: str | None = None
) -> tuple[ShapeField, ...]:
    """The shape head's outlines around the ``wide`` (region, width) pairs of the particle map
    (:func:`.shapes.wide_regions`), predicted on the normalised image ``data`` shrunk for them
    (:func:`.network.coarse_windows`; none when that is no smaller than the main pass's ``zoom``)."""
    from .network import coarse_windows, input_shapes

    coarse, windows = coarse_windows(wide, data.shape)
    if coarse >= zoom:
        return ()
    fields = []
    for top, left, bottom, right in windows:
        field = input_shapes(data[top:bottom, left:right], model, coarse, mode)
        fields.append(dataclasses.replace(field, window=(top, left, bottom, right)))
    return tuple(fields)


FINE_MARGIN_PX = 16  # image around a region that a fine pass sees
# In phase contrast, lattice fringes pass the fine pass's texture test as a raft would, and its
# outlines cut the crystals into pieces (generated fringe-only F1 0.30; 0.83 without the pass).
# Fringes run one way, a raft's lattice of particles in none: fringe-only crystals measured
# 0.32-0.90 (two touching crystals the lowest), rafts of 8-23 px particles 0.005-0.011.
FRINGE_MAX_COHERENCE = 0.2
FINE_MAX_INPUT_PX = 16_000_000  # network input of one fine pass at most (~10 s on 2 cores)


def fine_field(
    data: np.ndarray,
    box: tuple[int, int, int, int],
    zoom: float,
    main_zoom: float = 1.0,
    model=None,
    mode: str | None = None,
) -> ShapeField | None:
    """The shape head's outlines around ``box`` = (top, left, bottom, right) of the image with
    :data:`FINE_MARGIN_PX` more on each side, predicted on the normalised image ``data``
    enlarged by ``zoom`` (None when that is no larger than the main pass's ``main_zoom``, or
    when the enlarged window would exceed :data:`FINE_MAX_INPUT_PX`: a raft filling a 4096²
    micrograph would take minutes at 5x), or when a phase-contrast window's fine texture runs
    one way (:func:`fringe_coherence` above :data:`FRINGE_MAX_COHERENCE`: lattice fringes). A
    model with a fine head (trained on rafts of small particles seen enlarged,
    :mod:`nanosizer.train.fine_head`) gives its outlines here."""
    from .network import PHASE_SWITCH, input_shapes

    if zoom <= main_zoom:
        return None
    h, w = data.shape
    top, left = max(box[0] - FINE_MARGIN_PX, 0), max(box[1] - FINE_MARGIN_PX, 0)
    bottom, right = min(box[2] + FINE_MARGIN_PX, h), min(box[3] + FINE_MARGIN_PX, w)
    if (bottom - top) * (right - left) * zoom**2 > FINE_MAX_INPUT_PX:
        return None
    if mode == PHASE_SWITCH and fringe_coherence(data[top:bottom, left:right]) > FRINGE_MAX_COHERENCE:
        return None  # lattice fringes, not a raft: the phase head would cut the crystal into pieces
    field = input_shapes(data[top:bottom, left:right], model, zoom, mode, fine=True)
    return dataclasses.replace(field, window=(top, left, bottom, right))


def fringe_coherence(window: np.ndarray) -> float:
    """How much of ``window``'s fine texture (band-passed between Gaussians of 1 and 4 px) runs
    in one direction, 0 (no direction: a raft's lattice of blobs, grain) to 1 (parallel lines:
    lattice fringes): the coherence of the window's mean structure tensor."""
    from scipy import ndimage as ndi

    image = np.asarray(window, np.float32)
    band = ndi.gaussian_filter(image, 1.0) - ndi.gaussian_filter(image, 4.0)
    gy, gx = np.gradient(band)
    jxx, jyy, jxy = float((gx * gx).mean()), float((gy * gy).mean()), float((gx * gy).mean())
    total = jxx + jyy
    return float(np.hypot(jxx - jyy, 2 * jxy) / total) if total > 0 else 0.0


def confident_regions(prob: np.ndarray, found: np.ndarray, min_confidence: float) -> tuple[np.ndarray, int]:
    """``found`` without the regions whose highest probability stays below ``min_confidence``.

    Returns the kept mask and the number of regions dropped.

    On noisy carbon the network marks grain as weak, small regions (peak probability 0.5–0.9)
    while real particles, even faint ones, reach a confident core.
    """
    if min_confidence <= 0.5 or not found.any():
        return found, 0
    from scipy import ndimage as ndi

    labels, count = ndi.label(found, structure=np.ones((3, 3), bool))
    keep = np.zeros(count + 1, bool)
    keep[labels[found & (prob >= min_confidence)]] = True  # regions with a confident pixel
    keep[0] = False
    return keep[labels], count - int(keep.sum())


__all__ = [
    "clean_mask",
    "confident_regions",
    "normalise",
    "particle_signal",
    "refine_edges",
    "segment",
    "segment_with_shapes",
    "ShapeField",
    "segment_threshold",
]


def refine_edges(
    image: np.ndarray, network_mask: np.ndarray, settings, notes: list | None = None
) -> np.ndarray:
    """On high-contrast images, threshold edges for the particles the network found.

    When Otsu's separability reaches ``settings.refine_min_separability`` (black particles on
    a flat background, where a threshold is exact at the edges), the threshold's regions that
    the network confirms (at least half of their pixels) replace the network mask: the network
    decides what is a particle (not a label, smudge or scale bar), the threshold where its
    edge lies. Other images keep the network mask.
    """
    from scipy import ndimage as ndi

    score, cut = threshold_probability(image, settings.blur_sigma_px, settings.particles)
    separability = otsu_separability(score, cut)
    if separability < settings.refine_min_separability:
        return network_mask
    labels, count = ndi.label(score > cut)
    if count == 0:
        return network_mask
    confirmed = ndi.mean(network_mask.astype(np.float32), labels, np.arange(1, count + 1)) >= 0.5
    if notes is not None:
        notes.append(
            f"high-contrast image (Otsu separability {separability:.2f}): particle edges from the "
            f"threshold, {int(confirmed.sum())} of {count} threshold regions confirmed by the network"
        )
    return np.concatenate([[False], confirmed])[labels]
