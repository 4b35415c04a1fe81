"""Settings: defaults, bounds named in errors, typed NAME=VALUE parsing, self-description."""

import dataclasses

import pytest

from nanosizer.settings import Settings, describe_settings, parse_assignments


def test_defaults_are_the_papers_and_describe_themselves():
    s = Settings()
    assert (s.min_particle_ecd_nm, s.convexity_threshold, s.min_convexity, s.max_holes) == (
        0.5,
        0.95,
        0.5,
        10,
    )
    assert s.min_marker_px == 30 and s.separation == "auto" and s.particles == "auto"
    described = describe_settings()
    assert [name for name, _, _ in described] == [f.name for f in dataclasses.fields(Settings)]
    assert all(len(text) > 20 for _, _, text in described)  # every field has its meaning
    for name, _, _ in described:  # and the class documentation lists it, generated from the field
        assert f"    {name} : " in Settings.__doc__


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"convexity_threshold": 1.5}, "convexity_threshold must lie in [0, 1]"),
        ({"min_marker_px": 0}, "min_marker_px must be >= 1"),
        ({"separation": "magic"}, "separation must be one of auto, uecs, watershed, none"),
        ({"min_pixel_size_nm": 0}, "min_pixel_size_nm must be > 0"),
        ({"min_pixel_size_nm": 5, "max_pixel_size_nm": 1}, "need min < max"),
        ({"network_zoom": 20}, "network_zoom must be 'auto' or lie in [0.1, 10]"),
        ({"roi": (10, 0, 5, 5)}, "bottom > top"),
    ],
)
def test_bad_values_are_refused_naming_the_setting(change, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Settings(**change)


def test_assignments_are_typed_from_the_defaults():
    parsed = parse_assignments(["min_marker_px=12", "remove_border=no", "network_zoom=auto", "roi=0,0,10,20"])
    assert parsed == {
        "min_marker_px": 12,
        "remove_border": False,
        "network_zoom": "auto",
        "roi": (0, 0, 10, 20),
    }
    assert Settings(**parsed).roi == (0, 0, 10, 20)
    with pytest.raises(ValueError, match="unknown setting 'nope'"):
        parse_assignments(["nope=1"])
    with pytest.raises(ValueError, match="min_marker_px takes int"):
        parse_assignments(["min_marker_px=many"])


def test_the_digest_follows_every_value():
    assert Settings().digest() == Settings().digest()
    assert Settings(min_marker_px=12).digest() != Settings().digest()
    assert Settings(network_zoom=1).to_dict()["network_zoom"] == 1.0
