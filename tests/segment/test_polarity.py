"""--particles auto: the detector named in the metadata decides; the image alone only hints."""

import numpy as np

from nanosizer.segment.polarity import bright_spot_ratio, choose_polarity, names_detector


def _field(bright_particles: bool) -> np.ndarray:
    """A few discs on a noisy background: dark on bright, or the other way round."""
    from helpers import disc_mask

    rng = np.random.default_rng(0)
    image = 0.8 + 0.02 * rng.standard_normal((256, 256))
    for centre in rng.integers(20, 236, (8, 2)):
        image[disc_mask(image.shape, centre, 12)] = 0.2
    return 1 - image if bright_particles else image


def test_metadata_names_the_detector():
    assert choose_polarity({"detector": "JEOL HAADF Image"}, _field(True))[0] == "bright"
    assert choose_polarity({"title": "ADF-STEM 1"}, _field(True))[0] == "bright"
    assert choose_polarity({"title": "Dark-field image"}, _field(True))[0] == "bright"
    assert choose_polarity({"detector": "BF"}, _field(False))[0] == "dark"
    assert not names_detector("PDF of sizes") and not names_detector("ADFGVX") and names_detector("FEI_HAADF")


def test_without_metadata_bright_field_is_assumed_with_a_hint_for_dark_field_looks():
    particles, reason = choose_polarity({}, _field(False))
    assert particles == "dark" and "bright-field assumed" in reason and "--particles bright" not in reason
    particles, reason = choose_polarity({}, _field(True))
    assert particles == "dark" and "--particles bright" in reason


def _spots(bright: bool) -> np.ndarray:
    """Small particles (4-8 px) on a lumpy support with noise: bright ones (HAADF) or dark ones."""
    from helpers import disc_mask
    from scipy import ndimage as ndi

    rng = np.random.default_rng(1)
    support = 0.5 + 0.4 * ndi.gaussian_filter(rng.standard_normal((384, 384)), 20) * 20
    spots = np.zeros(support.shape)
    for centre in rng.integers(10, 374, (60, 2)):
        spots[disc_mask(spots.shape, centre, rng.uniform(2, 4))] = 0.3
    image = support + (1 if bright else -1) * ndi.gaussian_filter(spots, 1.0)
    return image + 0.02 * rng.standard_normal(image.shape)


def test_bright_spot_ratio_tells_bright_small_particles_from_dark_ones():
    assert bright_spot_ratio(_spots(bright=True)) >= 8.0  # quality.DARK_FIELD_SPOTS
    assert bright_spot_ratio(_spots(bright=False)) <= 1.0
