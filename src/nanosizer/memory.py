"""How much memory one image's analysis needs, how much there is, and how many workers fit.

The law is measured by ``benchmarks/memory.py`` (a fresh process reads, analyses with the
network and UECS, and writes one image; its peak resident memory): linear in the pixel count,
with the Python, NumPy and onnxruntime start-up as the constant. Images far larger than the
usual (stitched montages) are refused with the estimate and the way out before they are
analysed, rather than meeting the out-of-memory killer halfway.
"""

from __future__ import annotations

import os
from pathlib import Path

# peak ≈ BASE_MB + PER_MEGAPIXEL_MB · megapixels: above every point measured by
# benchmarks/memory.py on 2026-12-04 with the model's fine head (1024² 471 MB, 2048² 586, 4096²
# 929, 8192² 1910, 16384² 6004; least squares 515 + 20.5 per megapixel; on 2026-12-02, before
# it: 377, 666, 820, 1646, 4911), with the margin of the largest at 10 %
BASE_MB = 600.0
PER_MEGAPIXEL_MB = 22.5
# learned separation keeps the 32 ray maps and the polygons too: measured on 2026-12-02
# (benchmarks/pipeline.py scenes) +32 MB at 2048² and +278 MB at 4096² over UECS
LEARNED_PER_MEGAPIXEL_MB = 17.5
# a decoder of an imaging mode's own (dark field, phase contrast: float32, in a subgraph beside
# the int8 native one) holds its tile's activations too: measured on 2026-12-05, dark field
# against bright field, 2048² 754 vs 532 MB (UECS; the law above: 694) and 793 vs 664 MB
# (learned; law 768), 4096² 902 vs 713 (UECS); the phase-contrast decoder is the same network
MODE_DECODER_MB = 150.0
HEADROOM = 0.9  # share of the available memory a run plans to use


def estimate_peak_mb(height: int, width: int, learned: bool = False, own_decoder: bool = False) -> float:
    """Peak resident memory (MB) of analysing and writing one image of ``height`` × ``width`` px
    (``learned``: with learned separation; ``own_decoder``: read by the decoder of its imaging
    mode, dark field or phase contrast)."""
    per_megapixel = PER_MEGAPIXEL_MB + (LEARNED_PER_MEGAPIXEL_MB if learned else 0.0)
    return BASE_MB + (MODE_DECODER_MB if own_decoder else 0.0) + per_megapixel * height * width / 1e6


def available_mb() -> float | None:
    """Memory the system can give now (Linux ``MemAvailable``), in MB; None when unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (ValueError, OSError, AttributeError):
        return None


def image_shape(path: Path) -> tuple[int, int] | None:
    """Height and width of the largest frame of an image file, from its header only.

    None when the header cannot tell. DM files are read lazily (their tags, not their data);
    only when that fails does the size on disk stand in, as 2 bytes per pixel.
    """
    suffix = path.suffix.lower()
    try:
        if suffix in (".tif", ".tiff"):
            import tifffile

            with tifffile.TiffFile(path) as tif:
                shape = tif.series[0].shape
                axes = tif.series[0].axes
            dims = [n for n, a in zip(shape, axes, strict=False) if a in "YX"]
            return (dims[0], dims[1]) if len(dims) == 2 else None
        if suffix in (".dm3", ".dm4"):
            return _dm_shape(path)
        from PIL import Image

        with Image.open(path) as im:
            return im.height, im.width
    except Exception:  # an unreadable header is the reader's to report, with its reason
        return None


def _dm_shape(path: Path) -> tuple[int, int]:
    """Rows and columns of the largest 2-D image of a DM file, from its tags (lazy read)."""
    try:
        from rsciio.digitalmicrograph import file_reader

        shapes = [tuple(s["data"].shape[-2:]) for s in file_reader(str(path), lazy=True)]
        shapes = [s for s in shapes if len(s) == 2]
        if shapes:
            return max(shapes, key=lambda s: s[0] * s[1])
    except Exception:  # a damaged file is the reader's to report; estimate from its size here
        pass
    side = int((path.stat().st_size / 2) ** 0.5)
    return side, side


def plan_workers(
    files: list[Path], workers: int, budget_mb: float | None, learned: bool = False, own_decoder: bool = False
) -> tuple[int, str | None]:
    """Workers that fit in ``budget_mb`` for the largest of ``files``, and why, when fewer
    (``own_decoder``: any file may be read by the decoder of its imaging mode)."""
    workers = min(workers, len(files)) if files else workers  # no more workers than files
    if workers <= 1 or not budget_mb or not files:
        return workers, None
    shapes = [s for s in map(image_shape, files) if s is not None]
    if not shapes:
        return workers, None
    height, width = max(shapes, key=lambda s: s[0] * s[1])
    need = estimate_peak_mb(height, width, learned, own_decoder)
    fit = max(1, int(budget_mb * HEADROOM // need))
    if fit >= workers:
        return workers, None
    return fit, (
        f"images up to {height}x{width} px (rows x columns) need about {need:.0f} MB each and "
        f"{budget_mb:.0f} MB are available: running {fit} worker(s) instead of {workers}"
    )


def too_big_reason(
    height: int, width: int, budget_mb: float | None, learned: bool = False, own_decoder: bool = False
) -> str | None:
    """Why an image cannot be analysed within ``budget_mb`` (None when it fits or unknown)."""
    if not budget_mb:
        return None
    need = estimate_peak_mb(height, width, learned, own_decoder)
    if need <= budget_mb:
        return None
    return (
        f"a {height}x{width} px image needs about {need:.0f} MB to analyse, more than the "
        f"{budget_mb:.0f} MB available to one worker: analyse part of it with --roi, run fewer "
        "--workers, or allow more with --max-memory"
    )
