"""Length units to nanometres, at the edge of the program, so everything inside is in nm."""

from __future__ import annotations

# Spellings seen in DM, ImageJ and vendor metadata.
_NM_PER_UNIT = {
    "nm": 1.0,
    "nanometer": 1.0,
    "nanometre": 1.0,
    "a": 0.1,
    "å": 0.1,
    "Å": 0.1,
    "angstrom": 0.1,
    "ångström": 0.1,
    "pm": 1e-3,
    "picometer": 1e-3,
    "µm": 1e3,
    "μm": 1e3,
    "um": 1e3,
    "micron": 1e3,
    "microns": 1e3,
    "micrometer": 1e3,
    "micrometre": 1e3,
    "\\u00b5m": 1e3,
    "mm": 1e6,
    "millimeter": 1e6,
    "cm": 1e7,
    "centimeter": 1e7,
    "m": 1e9,
    "meter": 1e9,
    "inch": 2.54e7,
}

# A pixel outside this range is not a plausible micrograph calibration (e.g. 72 dpi defaults).
PLAUSIBLE_PIXEL_NM = (1e-4, 1e4)


def nm_per_unit(unit: str | None) -> float | None:
    """Nanometres in one ``unit``; None when the unit is missing or not a real-space length.

    >>> nm_per_unit("µm")
    1000.0
    >>> nm_per_unit("1/nm") is None
    True
    """
    if unit is None:
        return None
    key = str(unit).strip()
    if key in _NM_PER_UNIT:
        return _NM_PER_UNIT[key]
    return _NM_PER_UNIT.get(key.lower())


def is_reciprocal(unit: str | None) -> bool:
    """True for reciprocal-space units such as ``1/nm`` or ``nm^-1``."""
    if not unit:
        return False
    text = str(unit).replace(" ", "").lower()
    return text.startswith("1/") or "^-1" in text or "-1" in text.split("m")[-1]


def is_plausible_pixel_size(pixel_nm: float) -> bool:
    """Whether a pixel size in nm lies in the range of real micrographs."""
    lo, hi = PLAUSIBLE_PIXEL_NM
    return bool(lo <= pixel_nm <= hi)
