"""Read any supported micrograph into :class:`Micrograph` records with square pixels in nm."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import CalibrationError, InvalidImageError, UnreadableImageError
from .dm import read_dm
from .frames import GIVE_PIXEL_SIZE, Frame
from .micrograph import Micrograph
from .plain import read_plain
from .tiff import read_tiff

READERS = {
    ".dm3": read_dm,
    ".dm4": read_dm,
    ".tif": read_tiff,
    ".tiff": read_tiff,
    ".png": read_plain,
    ".jpg": read_plain,
    ".jpeg": read_plain,
    ".bmp": read_plain,
    ".gif": read_plain,
}
IMAGE_SUFFIXES = tuple(READERS)
MIN_SIDE_PX = 16
MAX_PIXEL_ANISOTROPY = 10.0


def read_micrographs(path: str | Path, pixel_size_nm: float | None = None) -> list[Micrograph]:
    """Read every 2-D image in a file.

    Parameters
    ----------
    path : str or Path
        A .dm3/.dm4, .tif/.tiff, .png, .jpg... file.
    pixel_size_nm : float, optional
        Pixel size in nm; when given it always wins over the file's calibration.

    Returns
    -------
    list of Micrograph
        One per image or frame, grey, finite, with square pixels.

    Raises
    ------
    UnreadableImageError
        Missing, empty, truncated or unknown file.
    CalibrationError
        No usable pixel size in the file and none given.
    UnsupportedDataError
        The file holds a spectrum or other non-image data.
    InvalidImageError
        The image is constant, too small or not finite.
    """
    return list(iter_micrographs(path, pixel_size_nm))


def iter_micrographs(path: str | Path, pixel_size_nm: float | None = None) -> Iterator[Micrograph]:
    """Like :func:`read_micrographs`, one frame at a time (keeps memory flat for stacks)."""
    path = Path(path)
    if pixel_size_nm is not None and not pixel_size_nm > 0:
        raise CalibrationError(f"the pixel size must be > 0 nm, got {pixel_size_nm}", path)
    if not path.is_file():
        raise UnreadableImageError("no such file", path)
    if path.stat().st_size == 0:
        raise UnreadableImageError("file is empty (0 bytes)", path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        known = ", ".join(IMAGE_SUFFIXES)
        raise UnreadableImageError(f"unknown image type {path.suffix!r}; known: {known}", path)
    for frame in reader(path):
        yield micrograph_from_frame(frame, path, pixel_size_nm)


def micrograph_from_frame(frame: Frame, path: Path, pixel_size_nm: float | None) -> Micrograph:
    """Grey-convert, check, calibrate and square the pixels of one frame."""
    notes: list[str] = []
    data = to_grey(frame.data, notes)
    check_image(data, path)
    if pixel_size_nm is not None:
        pixel_nm, source = (float(pixel_size_nm),) * 2, "--pixel-size"
    elif frame.pixel_nm is None:
        raise CalibrationError(frame.problem or f"has no pixel size; {GIVE_PIXEL_SIZE}", path)
    else:
        pixel_nm, source = frame.pixel_nm, frame.source
    try:
        data, pixel = square_pixels(data, pixel_nm, notes)
    except CalibrationError as exc:
        raise CalibrationError(exc.reason, path) from None
    return Micrograph(
        data=data,
        pixel_size_nm=pixel,
        pixel_size_source=source,
        name=path.stem + frame.suffix,
        path=path,
        notes=notes,
        metadata=dict(frame.metadata),
    )


def to_grey(data: np.ndarray, notes: list[str] | None = None) -> np.ndarray:
    """Return a 2-D array: RGB(A) becomes luminance (Rec. 601), grey data is untouched."""
    data = np.asarray(data)
    if data.ndim == 3 and data.shape[-1] in (3, 4):
        rgb = data[..., :3].astype(np.float32)
        if np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2]):
            grey = data[..., 0]
        else:
            grey = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        if notes is not None:
            notes.append("RGB converted to grey")
        return grey
    if data.ndim != 2:
        shape = "x".join(map(str, data.shape))
        raise InvalidImageError(f"expected a 2-D image, got an array of shape {shape}")
    return data


def check_image(data: np.ndarray, path: Path | None = None) -> None:
    """Refuse images that cannot be analysed, saying why."""
    if data.ndim != 2:
        raise InvalidImageError(f"expected a 2-D image, got shape {data.shape}", path)
    if min(data.shape) < MIN_SIDE_PX:
        raise InvalidImageError(
            f"image is {data.shape[0]}x{data.shape[1]} px (rows x columns); at least {MIN_SIDE_PX} px a "
            "side needed",
            path,
        )
    if np.issubdtype(data.dtype, np.complexfloating):
        raise InvalidImageError("complex-valued data (an FFT?) is not a micrograph", path)
    finite = np.isfinite(data) if np.issubdtype(data.dtype, np.floating) else None
    if finite is not None and not finite.all():
        raise InvalidImageError(f"{int((~finite).sum())} pixels are NaN or infinite", path)
    if data.min() == data.max():
        raise InvalidImageError(f"all pixels have the same value ({data.flat[0]}): nothing to see", path)


def square_pixels(
    data: np.ndarray, pixel_nm: tuple[float, float], notes: list[str]
) -> tuple[np.ndarray, float]:
    """Resample non-square pixels to the finer of the two sizes (no information is lost)."""
    row_nm, col_nm = (float(p) for p in pixel_nm)
    if abs(row_nm - col_nm) <= 1e-3 * min(row_nm, col_nm):
        return data, row_nm
    ratio = max(row_nm, col_nm) / min(row_nm, col_nm)
    if ratio > MAX_PIXEL_ANISOTROPY:
        raise CalibrationError(
            f"pixel sizes differ {ratio:.0f}-fold between rows ({row_nm:.4g} nm) and columns "
            f"({col_nm:.4g} nm), not a micrograph calibration; {GIVE_PIXEL_SIZE}"
        )
    from skimage.transform import resize

    target = min(row_nm, col_nm)
    shape = (round(data.shape[0] * row_nm / target), round(data.shape[1] * col_nm / target))
    resized = resize(data.astype(np.float32), shape, order=1, preserve_range=True, anti_aliasing=False)
    notes.append(
        f"non-square pixels ({row_nm:.4g} x {col_nm:.4g} nm, row x column) resampled to "
        f"{target:.4g} nm square pixels, {data.shape[0]}x{data.shape[1]} -> {shape[0]}x{shape[1]} px "
        "(rows x columns, as shape_px)"
    )
    return resized, target
