"""The Python front: ``nanosizer.analyze`` on a file or an array."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .io import Micrograph, read_micrographs
from .io.read import check_image, to_grey
from .pipeline import AnalysisResult, analyze_micrograph
from .settings import make_settings


def analyze(
    image: str | Path | np.ndarray,
    pixel_size_nm: float | None = None,
    mask: np.ndarray | None = None,
    **settings,
) -> AnalysisResult | list[AnalysisResult]:
    """Segment, separate and measure the particles of one micrograph.

    Parameters
    ----------
    image : path or (M, N) ndarray
        A micrograph file (.dm3, .dm4, .tif, .png...) or a grey (or RGB) array.
    pixel_size_nm : float, optional
        Pixel size in nm. Required for arrays and uncalibrated files; wins over the file's own.
    mask : (M, N) bool ndarray, optional
        A binary particle map to measure instead of segmenting.
    **settings
        Any field of :class:`nanosizer.Settings`, e.g. ``separation='watershed'``.

    Returns
    -------
    AnalysisResult or list of AnalysisResult
        ``.labels``, ``.particles`` (pandas) and ``.summary``; a list when the file holds
        several images (stack frames, several DM objects).

    Examples
    --------
    >>> import numpy as np, nanosizer
    >>> img = np.full((128, 128), 200, np.uint8); img[50:70, 50:70] = 50
    >>> result = nanosizer.analyze(img, pixel_size_nm=0.5)
    >>> len(result.particles), round(float(result.particles["feret_min_nm"][0]), 1)
    (1, 10.0)
    """
    config = make_settings(**settings)
    if isinstance(image, (str, Path)):
        results = [analyze_micrograph(m, config, mask) for m in read_micrographs(image, pixel_size_nm)]
        return results[0] if len(results) == 1 else results
    if pixel_size_nm is None:
        raise ValueError("pixel_size_nm is required when analysing an array")
    notes: list[str] = []
    data = to_grey(np.asarray(image), notes)
    check_image(data)
    micrograph = Micrograph(data, float(pixel_size_nm), "argument", "array", notes=notes)
    return analyze_micrograph(micrograph, config, mask)
