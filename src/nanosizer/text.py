"""Text rendered to pixels (scale bar labels, overlay reasons, synthetic figure labels)."""

from __future__ import annotations

import functools

import numpy as np


@functools.lru_cache(maxsize=256)
def _text_mask_cached(text: str, height_px: int) -> np.ndarray:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    dpi = 100
    fig = Figure(figsize=(height_px * len(text) * 0.8 / dpi, height_px * 1.4 / dpi), dpi=dpi)
    canvas = FigureCanvasAgg(fig)
    fig.text(0.5, 0.5, text, ha="center", va="center", fontsize=height_px * 72 / dpi, color="black")
    canvas.draw()
    alpha = np.asarray(canvas.buffer_rgba())[..., 0] < 128
    rows = np.flatnonzero(alpha.any(axis=1))
    cols = np.flatnonzero(alpha.any(axis=0))
    if rows.size == 0:
        return np.zeros((1, 1), bool)
    return alpha[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def text_mask(text: str, height_px: int) -> np.ndarray:
    """Render text to a boolean mask with matplotlib's Agg backend (no display needed).

    Renderings are cached (labels repeat across images); each call returns a fresh copy.
    """
    return _text_mask_cached(text, int(height_px)).copy()
