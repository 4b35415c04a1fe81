"""nanosizer: particle size and shape distributions from TEM micrographs.

The pipeline is io → segment → separate → measure → report; :func:`analyze` runs it on one
image or array, the ``nanosizer`` command on files, folders and globs. Heavy modules load on
first use, so ``import nanosizer`` and ``nanosizer --help`` stay fast.
"""

import logging

__version__ = "0.1.0"

logging.getLogger("nanosizer").addHandler(logging.NullHandler())

__all__ = ["Settings", "__version__", "analyze"]


def __getattr__(name):
    if name == "analyze":
        from .api import analyze

        return analyze
    if name == "Settings":
        from .settings import Settings

        return Settings
    raise AttributeError(f"module 'nanosizer' has no attribute {name!r}")
