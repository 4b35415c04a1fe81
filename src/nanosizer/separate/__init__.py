"""Separation: binary map to individual particles (UECS, watershed, or flag only)."""

from .separate import Separation, count_holes, separate_particles
from .uecs import uecs_split
from .watershed import watershed_split

__all__ = ["Separation", "count_holes", "separate_particles", "uecs_split", "watershed_split"]
