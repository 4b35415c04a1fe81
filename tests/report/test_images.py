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


def test_hidden_parts_of_outlines_are_dashed():
    from helpers import disc_mask

    from nanosizer.regions import Region
    from nanosizer.report.images import SEPARATED_RGB, overlay_image

    big = Region(disc_mask((120, 160), (60, 60), 30), 0, 0, separated=True)
    small = Region(disc_mask((120, 160), (60, 95), 20), 0, 0, separated=True)  # covers big's right side
    rgb = overlay_image(np.where(big.mask | small.mask, 40, 200).astype(np.uint8), [big, small], 1.0)[:120]
    drawn = (rgb == SEPARATED_RGB).all(axis=2)
    from skimage.segmentation import find_boundaries

    edge = find_boundaries(big.mask, mode="inner")
    hidden = edge & small.mask & ~find_boundaries(small.mask, mode="inner")
    shown = edge & ~small.mask
    assert drawn[shown].all()  # visible outline: solid
    assert 0.2 < drawn[hidden].mean() < 0.8  # hidden outline: dashed


def test_outlines_geojson_keeps_whole_outlines_in_pixels_and_nm():
    from helpers import disc_mask

    from nanosizer.measure import measure_regions
    from nanosizer.regions import Region
    from nanosizer.report.outlines import outlines_geojson

    big = Region(disc_mask((120, 160), (60, 60), 30), 0, 0)
    small = Region(disc_mask((120, 160), (60, 95), 20), 0, 0)
    table = measure_regions([big, small], 0.5)
    assert table["hidden_fraction"].iloc[0] > 0.05 and table["hidden_fraction"].iloc[1] == 0
    collection = outlines_geojson([big, small], table, 0.5)
    assert [f["properties"]["particle_id"] for f in collection["features"]] == [1, 2]
    ring = np.array(collection["features"][0]["geometry"]["coordinates"][0])
    x, y = ring[:, 0], ring[:, 1]
    area = 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))  # shoelace
    assert abs(area / big.area_px - 1) < 0.03  # the whole disc, hidden part included
    assert np.allclose(ring.mean(axis=0), (60, 60), atol=0.5)
    nm = np.array(collection["features"][0]["properties"]["outline_nm"])
    np.testing.assert_allclose(nm, (ring + 0.5) * 0.5, atol=1e-3)
