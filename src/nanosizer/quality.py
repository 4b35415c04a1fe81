"""Whether an image's analysis can be trusted: a verdict per image, a confidence per particle.

The network is right on the imaging modes it was trained on and confidently wrong on others
(phase-contrast carbon grain, lattice fringes, supports in HAADF-STEM): there it half-responds
to texture all over the image, and the regions it does find are largely left unmeasured. Both
show in what the analysis already has, at no extra forward pass; the limits below were chosen
on the EMPS crops, the ARDA catalysts, the BAM fields and generated scenes of every preset
against per-image instance F1 (``benchmarks/quality.py``):

- ``weak_response_share``: share of the image where the particle probability is 0.15-0.5.
  Images with F1 >= 0.8 stay below 0.045; grain, fringes and supports reach 0.06-0.21.
- ``unmeasured_area_fraction``: share of the particle map no measured particle covers.
  Images with F1 >= 0.8 stay below 0.27; supports and grain reach 0.45-0.94.
- ``uncertain_particle_share``: pixels at probability 0.3-0.7 per particle-map pixel (soft
  edges everywhere: faint particles or texture).

``unreliable`` images are kept out of a sample's pooled statistics by default.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

VERDICTS = ("ok", "doubtful", "unreliable")

WEAK_RESPONSE = (0.15, 0.5)  # probability band of the network's half-responses
UNCERTAIN = (0.3, 0.7)  # probability band counted as an uncertain particle-map pixel
# (signal, doubtful from, unreliable from)
LIMITS = {
    "weak_response_share": (0.03, 0.06),
    "unmeasured_area_fraction": (0.15, 0.40),
    "uncertain_particle_share": (0.15, None),
}


@dataclass(frozen=True)
class Quality:
    """The verdict on one image: ``ok``, ``doubtful`` or ``unreliable``, the reasons in words
    and the signals it rests on (JSON-ready numbers)."""

    verdict: str
    reasons: tuple[str, ...] = ()
    signals: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"verdict": self.verdict, "reasons": list(self.reasons), "signals": dict(self.signals)}

    @classmethod
    def from_summary(cls, summary: dict) -> Quality | None:
        """The verdict an image's ``summary.json`` holds (None for one written before verdicts)."""
        quality = summary.get("quality")
        if not quality:
            return None
        return cls(quality["verdict"], tuple(quality.get("reasons", ())), quality.get("signals", {}))

    @property
    def text(self) -> str:
        """The verdict in capitals and its reasons, in one line (banner, console, napari)."""
        return f"{self.verdict.upper()}: {'; '.join(self.reasons)}"


def image_signals(
    image: np.ndarray, segmentation: np.ndarray, probability: np.ndarray | None, unmeasured: float, count: int
) -> dict:
    """What the verdict reads: the network's response over the image (``probability`` as uint8
    0-255, or None without the network), the share of the particle map not measured, the
    number of particles, and whether the image has any contrast."""
    signals = {
        "particle_share": round(float(segmentation.mean()), 4) if segmentation.size else 0.0,
        "unmeasured_area_fraction": round(float(unmeasured), 4),
        "particles_per_megapixel": round(1e6 * count / max(segmentation.size, 1), 1),
        "image_contrast": bool(np.ptp(image) > 0) if image.size else False,
    }
    if probability is not None:
        low, high = (round(255 * v) for v in WEAK_RESPONSE)
        weak = np.count_nonzero((probability > low) & (probability < high))
        u_low, u_high = (round(255 * v) for v in UNCERTAIN)
        uncertain = np.count_nonzero((probability > u_low) & (probability < u_high))
        found = np.count_nonzero(probability >= 128)
        signals["weak_response_share"] = round(weak / probability.size, 4)
        signals["uncertain_particle_share"] = round(uncertain / max(found, 1), 4)
    return signals


POLARITY_HINT = (
    "particles taken as dark (no detector named in the file): if this is a dark-field (HAADF) "
    "image, rerun with --particles bright"
)
DARK_FIELD_SPOTS = 8.0  # bright_spot_ratio from which an image looks like bright particles
DARK_FIELD_HINT = (
    "particles taken as dark (no detector named in the file), but the image holds {ratio:.0f} times "
    "as many compact bright spots as dark ones, as particles in dark-field (HAADF-STEM): "
    "if its particles are bright, rerun with --particles bright"
)


def judge(signals: dict, count: int, polarity_assumed: bool = False) -> Quality:
    """The verdict from :func:`image_signals`: unreliable when any signal reaches its
    unreliable limit (:data:`LIMITS`) or the image is constant, doubtful when one reaches its
    doubtful limit or no particle was measured, else ok. A doubtful or unreliable image whose
    particles were only assumed dark (``polarity_assumed``) gets :data:`POLARITY_HINT` too, or
    :data:`DARK_FIELD_HINT` when its ``bright_spot_ratio`` signal is given and high: image
    statistics alone cannot tell dark-field images from dense bright-field ones
    (:mod:`nanosizer.segment.polarity`), a failed analysis is the moment to ask."""
    unreliable, doubtful = [], []
    if not signals.get("image_contrast", True):
        unreliable.append("the image is constant: nothing to segment")
        return Quality("unreliable", tuple(unreliable), signals)
    for name, (doubt, bad) in LIMITS.items():
        value = signals.get(name)
        if value is None:
            continue
        if bad is not None and value >= bad:
            unreliable.append(_reason(name, value))
        elif value >= doubt:
            doubtful.append(_reason(name, value))
    if count == 0:
        doubtful.append("no particle measured")
    if polarity_assumed and (unreliable or doubtful):
        doubtful.append(_polarity_hint(signals))
    if unreliable:
        return Quality("unreliable", tuple(unreliable + doubtful), signals)
    return Quality("doubtful" if doubtful else "ok", tuple(doubtful), signals)


def _polarity_hint(signals: dict) -> str:
    """The hint for a failed image whose particles were only assumed dark: the specific one
    when its ``bright_spot_ratio`` signal (:func:`~nanosizer.segment.polarity.bright_spot_ratio`)
    says it looks dark-field, else the general one."""
    ratio = signals.get("bright_spot_ratio")
    if ratio is not None and ratio >= DARK_FIELD_SPOTS:
        return DARK_FIELD_HINT.format(ratio=ratio)
    return POLARITY_HINT


def _reason(name: str, value: float) -> str:
    if name == "weak_response_share":
        return f"the network half-responds to {value:.0%} of the image (grain, fringes or a support?)"
    if name == "unmeasured_area_fraction":
        return f"{value:.0%} of the particle area could not be measured"
    if value > 1:  # more unsure pixels than the map holds: a share would read "379 %"
        return (
            f"the network is unsure over {value:.1f} times the particle map's area "
            "(faint particles or texture?)"
        )
    return f"{value:.0%} of the particle map is uncertain (faint particles or texture?)"


def particle_confidence(labels: np.ndarray, probability: np.ndarray | None, ids) -> np.ndarray:
    """The mean particle probability (0-1) over the visible pixels of each particle ``ids``
    (label values) of ``labels``; NaN without the network's probability (uint8, 0-255) and for
    a particle wholly hidden under others."""
    ids = np.asarray(ids, np.int64)
    if probability is None or ids.size == 0:
        return np.full(ids.size, np.nan)
    flat = labels.ravel()
    top = max(int(ids.max()), int(flat.max(initial=0))) + 1
    sums = np.bincount(flat, weights=probability.ravel(), minlength=top)[ids]
    pixels = np.bincount(flat, minlength=top)[ids]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.round(sums / pixels / 255.0, 4)
