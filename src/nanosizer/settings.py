"""Every analysis parameter in one validated record, with the ANTEMA defaults.

The defaults follow Gumbiowski et al., Nanoscale Adv. 2023 (the ANTEMA routine). The record is
saved in every ``summary.json`` so a result states exactly how it was made.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import textwrap
from dataclasses import dataclass

SEPARATIONS = ("auto", "uecs", "watershed", "none", "learned")
SEGMENTERS = ("network", "threshold")
POLARITIES = ("auto", "dark", "bright")
PHASE_CONTRAST = ("auto", "on", "off")


def setting(
    default,
    kind: str,
    help: str,
    *,
    choices: tuple[str, ...] | None = None,
    low: float | None = None,
    high: float | None = None,
    above: float | None = None,
):
    """A :class:`Settings` field that describes itself: its type in words, its meaning and its
    allowed values (checked on construction, listed by ``nanosizer settings``)."""
    meta = {"kind": kind, "help": help, "choices": choices, "low": low, "high": high, "above": above}
    return dataclasses.field(default=default, metadata=meta)


@dataclass(frozen=True)
class Settings:
    """Analysis parameters (lengths in nm, pixel counts in px); every field carries its meaning
    and allowed values (see the Attributes, generated from the fields, and ``nanosizer settings``).
    """

    segmenter: str = setting(
        "network",
        "{'network', 'threshold'}",
        (
            "How particles are told from background: the trained DeepLabv3+ network (default) or the "
            "classical blur + Otsu baseline."
        ),
        choices=SEGMENTERS,
    )
    model: str | None = setting(
        None,
        "str or None",
        ("Path of an ONNX model to use instead of the shipped one (network segmenter)."),
    )
    network_zoom: float | str = setting(
        1.0,
        "float or 'auto'",
        (
            "Resampling factor applied before the network (1: native pixels); the probability map is "
            "resampled back, so measurements stay at the image's own pixel size. 'auto' brings the typical "
            "particle to the size the network works best at (see "
            ":func:`nanosizer.segment.network.auto_zoom`)."
        ),
    )
    particles: str = setting(
        "auto",
        "{'auto', 'dark', 'bright'}",
        (
            "Particle contrast: dark on bright (bright-field TEM) or bright on dark (HAADF-STEM). "
            "'auto': bright when the file's metadata names a dark-field detector (HAADF, ADF, DF, "
            "annular), else dark (see :mod:`nanosizer.segment.polarity`); the choice and its reason "
            "go into the summary."
        ),
        choices=POLARITIES,
    )
    subtract_support_nm: float = setting(
        0.0,
        "float",
        (
            "Take the support beneath the particles away before the network: the largest particles' "
            "diameter in nm (brightness that varies over larger distances is support). For particles "
            "on thick, lumpy supports (HAADF-STEM of supported catalysts); 0 (the default): off."
        ),
        low=0,
    )
    phase_contrast: str = setting(
        "auto",
        "{'auto', 'on', 'off'}",
        (
            "Bright-field images at high resolution, where carbon grain as dark as the particles and "
            "lattice fringes make the image (HRTEM of small particles on carbon): 'on' reads them with "
            "the model's phase-contrast decoder, 'auto' does so when the pixel size is at most 0.1 nm, "
            "'off' never. Dark-field images have their own decoder (see ``particles``)."
        ),
        choices=PHASE_CONTRAST,
    )
    blur_sigma_px: float = setting(
        2.0,
        "float",
        ("Gaussian pre-filter sigma in pixels (paper: 2)."),
        low=0,
    )
    min_particle_ecd_nm: float = setting(
        0.5,
        "float",
        ("Regions with a smaller equivalent circular diameter are specks and removed (paper: 0.5)."),
        low=0,
    )
    max_hole_ecd_nm: float = setting(
        0.5,
        "float",
        ("Holes with a smaller equivalent circular diameter are filled (paper: 0.5)."),
        low=0,
    )
    convexity_threshold: float = setting(
        0.95,
        "float",
        ("Regions with convexity (hull perimeter / perimeter) below this are overlaps (paper: 0.95)."),
        low=0,
        high=1,
    )
    solidity_threshold: float = setting(
        0.95,
        "float",
        ("A region must also have area / convex area at least this to count as convex."),
        low=0,
        high=1,
    )
    min_convexity: float = setting(
        0.5,
        "float",
        ("Regions below this convexity are excluded as unseparable (paper: 0.5)."),
        low=0,
        high=1,
    )
    max_holes: int = setting(
        10,
        "int",
        ("Regions with more holes are excluded as unseparable (paper: 10)."),
        low=0,
    )
    separation: str = setting(
        "auto",
        "{'auto', 'uecs', 'watershed', 'none', 'learned'}",
        (
            "How touching and overlapping particles are separated: learned (whole particle outlines "
            "predicted by the network's shape head), uecs (the paper's ultimate erosion), watershed, "
            "none (non-convex regions only flagged), or auto: learned with the network segmenter and a "
            "model that has a shape head, else uecs."
        ),
        choices=SEPARATIONS,
    )
    min_shape_px: int = setting(
        25,
        "int",
        (
            "Particles with fewer pixels are flagged ``small_for_shape`` in the table: digitised discs below "
            "~25 px (ECD 5.6 px) give aspect ratios up to 1.5 and more from pixelation alone, so their shape "
            "measures mean little (their sizes are kept)."
        ),
        low=0,
    )
    min_marker_px: int = setting(
        30,
        "int",
        ("UECS markers smaller than max(this, area of a ``min_particle_ecd_nm`` circle) are dropped."),
        low=1,
    )
    min_marker_fraction: float = setting(
        0.01,
        "float",
        (
            "The UECS marker limit drops to this fraction of the median area of the image's single (convex) "
            "particles when that is smaller, never below 6 px: clusters of small particles are kept (0: the "
            "paper's fixed ``min_marker_px`` only; 0.01 leaves it at 30 px for particles from ~60 px across)."
        ),
        low=0,
        high=1,
    )
    uecs_rounds: int = setting(
        2,
        "int",
        (
            "UECS rounds after the paper's one, on what the regrown particles left unclaimed: they find the "
            "particles around a cluster's core (0: the paper's single round)."
        ),
        low=0,
    )
    watershed_h_px: float = setting(
        2.0,
        "float",
        ("Depth of the h-maxima of the distance transform used as watershed markers."),
        low=0,
    )
    object_threshold: float = setting(
        0.6,
        "float",
        ("learned: object probability a particle's outline candidate must exceed."),
        above=0,
        high=1,
    )
    max_outline_overlap: float = setting(
        0.5,
        "float",
        (
            "learned: a candidate outline sharing more than this fraction of the smaller one's "
            "area with a kept outline is the same particle (overlapping particles share less)."
        ),
        above=0,
        high=1,
    )
    max_round_outline_overlap: float = setting(
        0.7,
        "float",
        (
            "learned: two round outlines (shortest ray at least 0.4 of the longest) may share up to "
            "this fraction of the smaller one's area, a particle lying half over another "
            "(never less than max_outline_overlap)."
        ),
        above=0,
        high=1,
    )
    remove_border: bool = setting(
        True,
        "bool",
        ("Drop particles cut by the image border (after separation)."),
    )
    second_look: bool = setting(
        True,
        "bool",
        (
            "network, bright field: look again for particles much paler than the darkest in view (grey "
            "beside black), with the found ones painted over; a second forward pass only when the image "
            "shows such regions."
        ),
    )
    min_confidence: float = setting(
        0.9,
        "float",
        (
            "Network regions whose highest particle probability stays below this are dropped as uncertain: "
            "grain of noisy carbon, not particles (0.5 or less keeps every region)."
        ),
        low=0,
        high=1,
    )
    edge_refinement: bool = setting(
        False,
        "bool",
        (
            "On high-contrast images, take particle edges from the threshold for the particles the "
            "network confirms (see :func:`nanosizer.segment.refine_edges`). Off by default: with the "
            "shipped model it costs 0.034 IoU on the EMPS crops and 0.005 on the BAM fields."
        ),
    )
    refine_min_separability: float = setting(
        0.9,
        "float",
        ("Otsu separability (0–1) from which an image counts as high-contrast."),
        low=0,
        high=1,
    )
    min_pixel_size_nm: float = setting(
        0.001,
        "float",
        (
            "Smallest plausible pixel size of an electron micrograph; an image calibrated below it is "
            "refused with the reason (a unit mix-up, a missing unit), not measured in silence."
        ),
        above=0,
    )
    max_pixel_size_nm: float = setting(
        10000.0,
        "float",
        ("Largest plausible pixel size; an image calibrated above it is refused the same way."),
        above=0,
    )
    roi: tuple[int, int, int, int] | None = setting(
        None,
        "(top, left, bottom, right) or None",
        (
            "Analyse only this pixel rectangle (e.g. to leave out an info bar); its edges count as the image "
            "border."
        ),
    )

    def __post_init__(self):
        for spec in dataclasses.fields(self):
            _check(spec, getattr(self, spec.name))
        if not self.min_pixel_size_nm < self.max_pixel_size_nm:
            raise ValueError("settings min_pixel_size_nm and max_pixel_size_nm need min < max")
        if self.network_zoom != "auto":
            try:
                zoom = float(self.network_zoom)
            except (TypeError, ValueError):
                zoom = float("nan")
            if not 0.1 <= zoom <= 10:
                raise ValueError(
                    f"setting network_zoom must be 'auto' or lie in [0.1, 10], got {self.network_zoom}"
                )
            object.__setattr__(self, "network_zoom", zoom)
        if self.roi is not None:
            roi = tuple(int(v) for v in self.roi)
            if len(roi) != 4 or roi[0] < 0 or roi[1] < 0 or roi[2] <= roi[0] or roi[3] <= roi[1]:
                raise ValueError(
                    "setting roi must be (top, left, bottom, right) with bottom > top and "
                    f"right > left; got {self.roi}"
                )
            object.__setattr__(self, "roi", roi)

    def learns_outlines(self) -> bool:
        """Whether the separation is (or, as ``auto`` with the network, most likely becomes)
        learned: it needs the outline predictions and more memory."""
        return self.separation == "learned" or (self.separation == "auto" and self.segmenter == "network")

    def check_pixel_size(self, pixel_size_nm: float) -> str | None:
        """Why ``pixel_size_nm`` is not a plausible micrograph pixel size (None when it is)."""
        if not pixel_size_nm > 0:
            return f"pixel size must be > 0 nm, got {pixel_size_nm:g}"
        if not self.min_pixel_size_nm <= pixel_size_nm <= self.max_pixel_size_nm:
            return (
                f"pixel size {pixel_size_nm:g} nm is outside the plausible range for electron "
                f"micrographs ({self.min_pixel_size_nm:g}–{self.max_pixel_size_nm:g} nm/px): check "
                "the calibration (a unit mix-up?), or widen it with --set max_pixel_size_nm=VALUE"
            )
        return None

    def to_dict(self) -> dict:
        """Plain-JSON view, as written into ``summary.json``."""
        return dataclasses.asdict(self)

    def digest(self) -> str:
        """Short stable hash of the settings (used to recognise finished results)."""
        text = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def replace(self, **changes) -> Settings:
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"setting {name} must be one of {', '.join(allowed)}; got {value!r}")


def make_settings(**kwargs) -> Settings:
    """Build :class:`Settings` from keyword arguments, naming any unknown one."""
    known = {f.name for f in dataclasses.fields(Settings)}
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise TypeError(f"unknown setting(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return Settings(**kwargs)


def parse_assignments(texts: list[str]) -> dict:
    """``NAME=VALUE`` texts (as the CLI's ``--set``) to typed keyword arguments for :class:`Settings`.

    Each value is read as its setting's default is typed (yes/no/true/false/1/0 for switches);
    ``network_zoom`` also takes 'auto', ``roi`` takes TOP,LEFT,BOTTOM,RIGHT, and ``model``
    and ``roi`` take 'none'. The ranges are checked by :class:`Settings` itself.
    """
    defaults = {f.name: f.default for f in dataclasses.fields(Settings)}
    out = {}
    for text in texts:
        name, sep, value = text.partition("=")
        name, value = name.strip().replace("-", "_"), value.strip()
        if not sep or not name:
            raise ValueError(f"--set takes NAME=VALUE, got {text!r}")
        if name not in defaults:
            raise ValueError(f"unknown setting {name!r}; known: {', '.join(defaults)}")
        out[name] = _typed(name, value, defaults[name])
    return out


_KINDS = {"roi": "four integers TOP,LEFT,BOTTOM,RIGHT", "network_zoom": "a number or 'auto'"}


def _typed(name: str, value: str, default):
    if value.lower() == "none" and name in ("model", "roi"):
        return None
    try:
        if isinstance(default, bool):
            switch = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
            return switch[value.lower()]
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return value if value == "auto" and name == "network_zoom" else float(value)
        if name == "roi":
            return tuple(int(v) for v in value.split(","))
    except (KeyError, ValueError):
        kind = _KINDS.get(name) or ("yes or no" if isinstance(default, bool) else type(default).__name__)
        raise ValueError(f"setting {name} takes {kind}, got {value!r}") from None
    return value


def describe_settings() -> list[tuple[str, object, str]]:
    """(name, default, description) of every setting, in record order, from the fields."""
    return [(f.name, f.default, f.metadata["help"]) for f in dataclasses.fields(Settings)]


def _check(spec: dataclasses.Field, value) -> None:
    """Refuse a value outside the field's choices or bounds, naming the setting."""
    meta = spec.metadata
    if meta.get("choices") is not None:
        _choice(spec.name, value, meta["choices"])
        return
    low, high, above = meta.get("low"), meta.get("high"), meta.get("above")
    if low is not None and high is not None and not low <= value <= high:
        raise ValueError(f"setting {spec.name} must lie in [{low:g}, {high:g}], got {value}")
    if low is not None and high is None and value < low:
        raise ValueError(f"setting {spec.name} must be >= {low:g}, got {value}")
    if above is not None and not value > above:
        raise ValueError(f"setting {spec.name} must be > {above:g}, got {value}")


def _document(cls) -> None:
    """Write the class's numpydoc Attributes section from its fields (one source of truth)."""
    lines = ["", "    Attributes", "    ----------"]
    for spec in dataclasses.fields(cls):
        lines.append(f"    {spec.name} : {spec.metadata['kind']}")
        lines += textwrap.wrap(spec.metadata["help"], 92, initial_indent=" " * 8, subsequent_indent=" " * 8)
    cls.__doc__ = cls.__doc__.rstrip() + "\n" + "\n".join(lines) + "\n"


_document(Settings)
