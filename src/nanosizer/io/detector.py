"""Which detector a micrograph's metadata names: bright-field or dark-field (HAADF, ADF, ...)."""

from __future__ import annotations

import re

DARK_FIELD = re.compile(r"(?i)(?<![a-z])(ha-?adf|adf|df|annular|dark[- ]?field)(?![a-z])")
BRIGHT_FIELD = re.compile(r"(?i)(?<![a-z])(bf|abf|bright[- ]?field)(?![a-z])")


def names_detector(text: str) -> bool:
    """Whether ``text`` names a bright- or dark-field detector.

    >>> names_detector("JEOL HAADF Image"), names_detector("FEI_HAADF"), names_detector("PDF")
    (True, True, False)
    """
    return bool(DARK_FIELD.search(text) or BRIGHT_FIELD.search(text))
