import csv

import numpy as np
import pytest
import tifffile

from nanosizer.errors import CalibrationError, InvalidImageError, UnreadableImageError, UnsupportedDataError
from nanosizer.io import read_micrographs


def _image(shape=(64, 64), dtype=np.uint16):
    rng = np.random.default_rng(0)
    return (rng.random(shape) * 1000).astype(dtype)


def test_imagej_tiff_calibration(tmp_path):
    path = tmp_path / "ij.tif"
    tifffile.imwrite(path, _image(), imagej=True, resolution=(1 / 0.25, 1 / 0.25), metadata={"unit": "nm"})
    (m,) = read_micrographs(path)
    assert m.pixel_size_nm == pytest.approx(0.25) and "ImageJ" in m.pixel_size_source


def test_imagej_tiff_in_microns(tmp_path):
    path = tmp_path / "um.tif"
    tifffile.imwrite(
        path, _image(), imagej=True, resolution=(1 / 0.002, 1 / 0.002), metadata={"unit": "micron"}
    )
    (m,) = read_micrographs(path)
    assert m.pixel_size_nm == pytest.approx(2.0)


@pytest.mark.parametrize("unit, per_unit, expected_nm", [("CENTIMETER", 1e6, 10.0), ("INCH", 2.54e6, 10.0)])
def test_standard_resolution_unit(tmp_path, unit, per_unit, expected_nm):
    path = tmp_path / "res.tif"
    tifffile.imwrite(path, _image(), resolution=(per_unit, per_unit), resolutionunit=unit)
    (m,) = read_micrographs(path)
    assert m.pixel_size_nm == pytest.approx(expected_nm)


def test_display_dpi_is_not_a_calibration(tmp_path):
    path = tmp_path / "dpi.tif"
    tifffile.imwrite(path, _image(), resolution=(72, 72), resolutionunit="INCH")
    with pytest.raises(CalibrationError, match="plausible"):
        read_micrographs(path)
    (m,) = read_micrographs(path, pixel_size_nm=0.5)
    assert m.pixel_size_nm == 0.5 and m.pixel_size_source == "--pixel-size"


def test_fei_metadata(tmp_path):
    path = tmp_path / "fei.tif"
    text = "[User]\nDate=01/01/2024\n[Scan]\nPixelWidth=2.5e-10\nPixelHeight=2.5e-10\n"
    tifffile.imwrite(path, _image(), extratags=[(34682, "s", 0, text, True)])
    (m,) = read_micrographs(path)
    assert m.pixel_size_nm == pytest.approx(0.25) and "FEI" in m.pixel_size_source


def test_multiframe_tiff_yields_frames(tmp_path):
    path = tmp_path / "stack.tif"
    data = np.stack([_image(), _image()[::-1], _image()[:, ::-1]])
    tifffile.imwrite(path, data, imagej=True, resolution=(2, 2), metadata={"unit": "nm", "axes": "ZYX"})
    frames = read_micrographs(path)
    assert [m.name for m in frames] == ["stack_f0000", "stack_f0001", "stack_f0002"]
    assert np.array_equal(frames[1].data, data[1])


def test_png_needs_pixel_size_and_rgb_becomes_grey(tmp_path):
    from PIL import Image

    rgb = np.zeros((40, 40, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[10:20, 10:20, 2] = 100, 50, 255
    path = tmp_path / "rgb.png"
    Image.fromarray(rgb).save(path)
    with pytest.raises(CalibrationError, match="--pixel-size"):
        read_micrographs(path)
    (m,) = read_micrographs(path, pixel_size_nm=1.5)
    assert m.data.ndim == 2 and m.pixel_size_nm == 1.5 and "RGB converted to grey" in m.notes


def test_non_square_pixels_are_resampled(tmp_path):
    path = tmp_path / "aniso.tif"
    tifffile.imwrite(
        path, _image((50, 40)), imagej=True, resolution=(1 / 0.5, 1 / 1.0), metadata={"unit": "nm"}
    )
    (m,) = read_micrographs(path)  # rows 1.0 nm, columns 0.5 nm
    assert m.pixel_size_nm == pytest.approx(0.5)
    assert m.data.shape == (100, 40) and "resampled" in m.notes[0]


@pytest.mark.parametrize(
    "content, error, match",
    [
        (b"", UnreadableImageError, "empty"),
        (b"this is not an image at all", UnreadableImageError, "not a readable"),
    ],
)
def test_bad_files_name_the_problem(tmp_path, content, error, match):
    for suffix in (".tif", ".png", ".dm3"):
        path = tmp_path / f"bad{suffix}"
        path.write_bytes(content)
        with pytest.raises(error, match=match) as info:
            read_micrographs(path)
        assert str(path) in str(info.value)


def test_truncated_tiff(tmp_path):
    good = tmp_path / "good.tif"
    tifffile.imwrite(good, _image((256, 256)), imagej=True, resolution=(1, 1), metadata={"unit": "nm"})
    bad = tmp_path / "truncated.tif"
    bad.write_bytes(good.read_bytes()[:5000])
    with pytest.raises(UnreadableImageError, match="truncated.tif"):
        read_micrographs(bad)


def test_constant_and_tiny_images_are_refused(tmp_path):
    flat = tmp_path / "flat.tif"
    tifffile.imwrite(
        flat, np.full((64, 64), 7, np.uint8), imagej=True, resolution=(1, 1), metadata={"unit": "nm"}
    )
    with pytest.raises(InvalidImageError, match="same value"):
        read_micrographs(flat)
    dot = tmp_path / "dot.tif"
    tifffile.imwrite(dot, np.ones((1, 1), np.uint8), imagej=True, resolution=(1, 1), metadata={"unit": "nm"})
    with pytest.raises(InvalidImageError, match="1x1 px"):
        read_micrographs(dot)


def test_unknown_suffix_and_missing_file(tmp_path):
    with pytest.raises(UnreadableImageError, match="no such file"):
        read_micrographs(tmp_path / "nope.tif")
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    with pytest.raises(UnreadableImageError, match="unknown image type"):
        read_micrographs(other)


# --- real Gatan files from ../shared/realdata/dm (skipped when absent) ---------------------


def _expected(realdata):
    with open(realdata / "dm" / "files.csv", newline="") as fh:
        return {(r["file"], r["signal_index"]): r for r in csv.DictReader(fh)}


@pytest.mark.parametrize(
    "name, shape, dtype, pixel_nm",
    [
        ("particlespy_JEOL_HAADF_Image.dm4", (112, 112), "float32", 1.2490135850384831),
        ("rsciio_multi_signal.dm3", (512, 512), "uint16", 0.017751578241586685),
        ("rsciio_test_STEM_image.dm3", (68, 68), "uint32", 0.248538),
        ("rsciio_test_dm_image_um_unit.dm3", (68, 68), "int32", 168.675),
    ],
)
def test_real_dm_images(realdata, name, shape, dtype, pixel_nm):
    (m,) = read_micrographs(realdata / "dm" / name)
    assert m.data.shape == shape and str(m.data.dtype) == dtype
    assert m.pixel_size_nm == pytest.approx(pixel_nm, rel=1e-5)
    row = _expected(realdata)[(name, "0")]
    assert "x".join(map(str, shape)) == row["shape"] and row["dtype"] == dtype


def test_real_dm_non_square_pixels(realdata):
    for name in (
        "ncempy_dmTest_float32_nonSquare_diffPixelSize.dm3",
        "ncempy_dmTest_float32_nonSquare_diffPixelSize.dm4",
    ):
        (m,) = read_micrographs(realdata / "dm" / name)  # rows 2 Å, columns 1 nm
        assert m.pixel_size_nm == pytest.approx(0.2)
        assert m.data.shape == (64, 640) and any("resampled" in n for n in m.notes)


def test_real_dm_refusals(realdata):
    dm = realdata / "dm"
    with pytest.raises(UnsupportedDataError, match="spectrum"):
        read_micrographs(dm / "ncempy_08_carbon.dm3")
    with pytest.raises(CalibrationError, match="1/nm"):
        read_micrographs(dm / "rsciio_test_diffraction_pattern.dm3")
    (m,) = read_micrographs(dm / "rsciio_test_diffraction_pattern.dm3", pixel_size_nm=0.1)
    assert m.pixel_size_nm == 0.1
    with pytest.raises(InvalidImageError, match="2x2 px"):
        read_micrographs(dm / "rsciio_2D_test-8_rgb.dm4")


def test_real_dm_stack_frames(realdata):
    frames = read_micrographs(realdata / "dm" / "ncempy_dmTest_3D_int16_64,65,66.dm4", pixel_size_nm=1.0)
    assert len(frames) == 66 and frames[0].data.shape == (65, 64)
    assert frames[3].name.endswith("_f0003")


def test_real_haadf_files_name_their_detector_and_are_analysed_as_bright(realdata):
    import nanosizer

    for name in ("particlespy_JEOL_HAADF_Image.dm4", "rsciio_test_STEM_image.dm3"):
        (m,) = read_micrographs(realdata / "dm" / name)
        assert "HAADF" in m.metadata["detector"]
    result = nanosizer.analyze(realdata / "dm" / "particlespy_JEOL_HAADF_Image.dm4")
    assert result.settings.particles == "bright" and result.summary["settings"]["particles"] == "bright"
    assert any("dark-field detector" in note for note in result.summary["notes"])
    assert result.summary["count"] >= 5  # 0 when taken for dark particles


@pytest.mark.parametrize("keep", [100, 300, 5000])
def test_truncated_tiff_is_named_as_such_without_log_noise(tmp_path, capfd, keep):
    import tifffile

    path = tmp_path / "cut.tif"
    image = np.random.default_rng(0).integers(0, 255, (256, 256), dtype=np.uint8)
    tifffile.imwrite(path, image, compression="zlib", metadata={"unit": "nm"}, imagej=True)
    path.write_bytes(path.read_bytes()[:keep])
    with pytest.raises(UnreadableImageError, match="truncated or corrupt TIFF") as err:
        read_micrographs(path, pixel_size_nm=1.0)
    assert "Error" not in str(err.value).split("(")[0]
    captured = capfd.readouterr()
    assert "TiffTag" not in captured.err + captured.out


def test_truncated_dm_file_is_named_as_such(realdata, tmp_path):
    path = tmp_path / "cut.dm4"
    path.write_bytes((realdata / "dm" / "particlespy_JEOL_HAADF_Image.dm4").read_bytes()[:30000])
    with pytest.raises(UnreadableImageError, match="truncated or corrupt DM file"):
        read_micrographs(path)
