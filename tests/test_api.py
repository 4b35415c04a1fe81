import subprocess
import sys

import numpy as np
import pytest

import nanosizer
from nanosizer.synth import synth


def test_analyze_array_and_settings():
    s = synth("overlap-low", rng=4, size=384)
    res = nanosizer.analyze(s.image, pixel_size_nm=s.pixel_size_nm)
    assert res.labels.shape == s.image.shape and len(res.particles) > 5
    assert res.summary["count"] == len(res.particles)
    ws = nanosizer.analyze(s.image, pixel_size_nm=s.pixel_size_nm, separation="watershed")
    assert ws.summary["settings"]["separation"] == "watershed"
    iou = (res.segmentation & s.mask).sum() / (res.segmentation | s.mask).sum()
    assert iou > 0.8


def test_analyze_is_deterministic():
    s = synth("pt-cubes", rng=2, size=256)
    a = nanosizer.analyze(s.image, pixel_size_nm=s.pixel_size_nm)
    b = nanosizer.analyze(s.image, pixel_size_nm=s.pixel_size_nm)
    assert a.particles.equals(b.particles) and np.array_equal(a.labels, b.labels)


def test_unknown_setting_and_missing_pixel_size():
    img = np.zeros((32, 32))
    img[8:16, 8:16] = 1
    with pytest.raises(TypeError, match="unknown setting"):
        nanosizer.analyze(img, pixel_size_nm=1.0, separaton="none")
    with pytest.raises(ValueError, match="pixel_size_nm"):
        nanosizer.analyze(img)


def test_import_is_light():
    heavy = "('torch', 'dask', 'pandas', 'skimage', 'onnxruntime')"
    code = f"import sys, nanosizer; print([m for m in {heavy} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_roi_analyses_only_the_given_rectangle():
    s = synth("overlap-low", rng=4, size=384)
    full = nanosizer.analyze(s.image, pixel_size_nm=s.pixel_size_nm, segmenter="threshold")
    part = nanosizer.analyze(
        s.image, pixel_size_nm=s.pixel_size_nm, segmenter="threshold", roi=(0, 0, 200, 384)
    )
    assert part.labels.shape == (200, 384)
    assert any("region of interest rows 0:200" in note for note in part.summary["notes"])
    assert 0 < len(part.particles) < len(full.particles)
    with pytest.raises(ValueError, match="roi"):
        nanosizer.analyze(s.image, pixel_size_nm=1.0, roi=(10, 0, 5, 20))


def test_network_is_the_default_and_recorded():
    s = synth("pt-cubes", rng=2, size=256)
    res = nanosizer.analyze(s.image, pixel_size_nm=s.pixel_size_nm)
    assert res.summary["settings"]["segmenter"] == "network"
    assert len(res.summary["model"]["sha256"]) == 64
