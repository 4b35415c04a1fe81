"""Text rendered to pixels (scale bar labels, overlay reasons, synthetic figure labels)."""

from __future__ import annotations

import functools

import numpy as np


@functools.lru_cache(maxsize=256)
def _text_mask_cached(text: str, height_px: int, family: str, weight: str) -> np.ndarray:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    dpi = 100
    width = 0.8 if (family, weight) == ("sans-serif", "normal") else 1.1  # serif and bold run wider
    fig = Figure(figsize=(height_px * len(text) * width / dpi, height_px * 1.4 / dpi), dpi=dpi)
    canvas = FigureCanvasAgg(fig)
    size = height_px * 72 / dpi
    style = {"family": family, "weight": weight, "color": "black"}
    fig.text(0.5, 0.5, text, ha="center", va="center", fontsize=size, **style)
    canvas.draw()
    alpha = np.asarray(canvas.buffer_rgba())[..., 0] < 128
    rows = np.flatnonzero(alpha.any(axis=1))
    cols = np.flatnonzero(alpha.any(axis=0))
    if rows.size == 0:
        return np.zeros((1, 1), bool)
    return alpha[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def text_mask(text: str, height_px: int, family: str = "sans-serif", weight: str = "normal") -> np.ndarray:
    """Render text to a boolean mask with matplotlib's Agg backend (no display needed), in
    matplotlib's bundled fonts (``family`` 'sans-serif' or 'serif', ``weight`` 'normal' or 'bold').

    Renderings are cached (labels repeat across images); each call returns a fresh copy.
    """
    return _text_mask_cached(text, int(height_px), family, weight).copy()
