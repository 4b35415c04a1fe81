"""Writing images: the overlay PNG keeps its picture."""

import numpy as np


def test_overlay_png_keeps_its_colours_and_greys(tmp_path):
    from PIL import Image

    from nanosizer.files import write_png

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


def test_scale_bar_fits_small_images_and_hides_no_particle():
    from helpers import disc_mask

    from nanosizer.regions import regions_from_mask
    from nanosizer.report.images import PARTICLE_RGB, overlay_image

    image = np.full((112, 112), 200, np.uint8)
    mask = disc_mask(image.shape, (100, 100), 8)  # the only particle, in the lower right corner
    image[mask] = 40
    particles = regions_from_mask(mask)
    rgb = overlay_image(image, particles, 0.7)
    assert rgb.shape[0] > 112 and rgb.shape[1] == 112  # the bar lives in a strip below the image
    picture, strip = rgb[:112], rgb[112:]
    from skimage.segmentation import find_boundaries

    outline = (picture == PARTICLE_RGB).all(axis=2)
    assert outline[find_boundaries(mask, mode="inner")].all()  # the whole outline is visible
    white = (strip == 255).all(axis=2)
    cols = np.flatnonzero(white.any(axis=0))
    assert cols.size and cols[-1] < 112 - 1  # bar and text inside the width, with a margin
    assert white.sum() > 40  # the bar and a legible label were drawn


def test_excluded_regions_are_drawn_with_their_reason():
    from helpers import disc_mask

    from nanosizer.regions import regions_from_mask
    from nanosizer.report.images import EXCLUDED_RGB, overlay_image

    mask = disc_mask((200, 200), (100, 100), 30)
    region = regions_from_mask(mask)[0]
    rgb = overlay_image(np.where(mask, 40, 200).astype(np.uint8), [], 1.0, [(region, "unseparable")])
    orange = (rgb[:200] == EXCLUDED_RGB).all(axis=2)
    assert orange[mask].sum() > 100  # its outline
    assert orange[:68].sum() > 20  # the reason, written above the region
    plain = overlay_image(np.where(mask, 40, 200).astype(np.uint8), [], 1.0)
    assert not (plain == EXCLUDED_RGB).all(axis=2).any()
