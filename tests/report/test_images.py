"""Writing images: the overlay PNG keeps its picture."""

import numpy as np


def test_overlay_png_keeps_its_colours_and_greys(tmp_path):
    from PIL import Image

    from nanosizer.report.images import write_png

    rng = np.random.default_rng(0)
    rgb = np.repeat(rng.integers(0, 256, (64, 80), dtype=np.uint8)[..., None], 3, axis=2)
    rgb[10, 5:40] = (255, 60, 0)
    rgb[30:40, 50] = (0, 200, 255)
    write_png(rgb, tmp_path / "overlay.png")
    picture = Image.open(tmp_path / "overlay.png")
    back = np.asarray(picture.convert("RGB")).astype(int)
    assert picture.mode == "P"  # a palette: a third of the bytes of RGB
    assert (back[10, 5:40] == (255, 60, 0)).all() and (back[30:40, 50] == (0, 200, 255)).all()
    assert np.abs(back - rgb).max() <= 1
    many = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)  # not an overlay: written as it is
    write_png(many, tmp_path / "many.png")
    assert (np.asarray(Image.open(tmp_path / "many.png")) == many).all()
