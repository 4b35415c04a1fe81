"""The quality verdict: images the network does not know are unreliable and kept out of the
sample's statistics; the bundled examples are ok; every particle has a confidence."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from nanosizer.batch import run_batch
from nanosizer.data import example_images
from nanosizer.io import Micrograph, read_micrographs
from nanosizer.pipeline import analyze_micrograph, image_status
from nanosizer.quality import LIMITS, POLARITY_HINT, judge, particle_confidence
from nanosizer.settings import Settings
from nanosizer.synth import SynthImage, generate, preset_params, write_synth


def _scene(preset: str, seed: int, size: int = 384, **overrides) -> SynthImage:
    rng = np.random.default_rng(seed)
    params = preset_params(preset, rng, size)
    for name, value in overrides.items():
        setattr(params, name, value)
    return generate(params, rng)


def _analyse(scene: SynthImage, **settings):
    micrograph = Micrograph(scene.image, scene.pixel_size_nm, "synthetic", "scene")
    return analyze_micrograph(micrograph, Settings(**settings))


def test_judge_follows_the_limits_and_names_the_signal():
    doubt, bad = LIMITS["weak_response_share"]
    calm = {"weak_response_share": 0.0, "unmeasured_area_fraction": 0.0, "uncertain_particle_share": 0.0}
    assert judge(calm, 10).verdict == "ok" and judge(calm, 10).reasons == ()
    doubtful = judge(calm | {"weak_response_share": doubt}, 10)
    assert doubtful.verdict == "doubtful" and "half-responds" in doubtful.reasons[0]
    unreliable = judge(calm | {"weak_response_share": bad, "unmeasured_area_fraction": 0.5}, 10)
    assert unreliable.verdict == "unreliable" and len(unreliable.reasons) == 2
    assert "could not be measured" in unreliable.reasons[1]
    assert judge(calm, 0).verdict == "doubtful" and judge(calm, 0).reasons == ("no particle measured",)
    soft = judge(calm | {"uncertain_particle_share": 0.2}, 10).reasons[0]
    assert soft.startswith("20% of the particle map is uncertain")
    unsure = judge(calm | {"uncertain_particle_share": 3.79}, 10).reasons[0]  # a tiny map, soft everywhere
    assert "3.8 times the particle map's area" in unsure and "%" not in unsure
    assert judge(calm | {"image_contrast": False}, 0).verdict == "unreliable"


@pytest.mark.parametrize(
    "preset, seed, overrides, settings",
    [
        ("au-phase-grain", 1, {"coverage": 0.0}, {}),  # phase-contrast carbon grain, no particle
        ("au-phase-grain", 3, {"coverage": 0.0}, {}),
        ("haadf-support", 1, {"coverage": 0.0}, {"particles": "bright"}),  # a support, no particle
        ("haadf-support", 3, {"coverage": 0.0}, {"particles": "bright"}),
        # crystals seen only by their lattice fringes, read without the phase-contrast decoder
        ("fringe-only", 1, {}, {"phase_contrast": "off"}),
        ("fringe-only", 3, {}, {"phase_contrast": "off"}),
    ],
)
def test_images_the_network_does_not_know_are_unreliable(preset, seed, overrides, settings):
    result = _analyse(_scene(preset, seed, **overrides), **settings)
    assert result.quality.verdict == "unreliable", result.quality
    assert any(
        "half-responds" in reason or "could not be measured" in reason for reason in result.quality.reasons
    )
    summary = result.summary["quality"]
    assert summary["verdict"] == "unreliable" and summary["reasons"] == list(result.quality.reasons)
    assert summary["signals"]["weak_response_share"] == result.quality.signals["weak_response_share"]


@pytest.mark.parametrize("seed", [1, 3])
def test_the_phase_contrast_decoder_reads_fringed_crystals_on_carbon_grain(seed):
    """At HRTEM sampling (<= 0.1 nm/px) 'auto' reads the image with the phase-contrast decoder:
    the crystals are found and the grain is left alone, where the native decoder takes grain
    for hundreds of particles; the summary says why, and the verdict no longer calls the image
    unreliable."""
    from nanosizer.metrics import instance_counts

    scene = _scene("fringe-only", seed, size=512)
    assert scene.pixel_size_nm <= 0.1
    inner = ~scene.table["touches_border"].to_numpy(dtype=bool)
    counts, verdicts = {}, {}
    for phase in ("auto", "off"):
        result = _analyse(scene, phase_contrast=phase)
        counts[phase] = instance_counts(result.labels, scene.labels, inner)
        verdicts[phase] = result.quality.verdict
        notes = " ".join(result.summary["notes"])
        assert ("phase-contrast decoder" in notes) == (phase == "auto")
    truth = counts["auto"]["truth"]
    assert truth >= 2 and counts["auto"]["matched"] >= truth - 1, counts
    assert counts["auto"]["predicted"] <= truth + 1, counts
    assert counts["off"]["matched"] == 0 and counts["off"]["predicted"] >= 20, counts
    assert verdicts == {"auto": verdicts["auto"], "off": "unreliable"} and verdicts["auto"] != "unreliable"


def test_a_constant_image_is_unreliable_and_refused_by_the_readers(tmp_path):
    flat = Micrograph(np.full((128, 128), 100.0, np.float32), 0.5, "argument", "flat")
    result = analyze_micrograph(flat, Settings())
    assert result.quality.verdict == "unreliable" and "constant" in result.quality.reasons[0]
    import nanosizer

    with pytest.raises(ValueError, match="same value"):  # files and arrays never get that far
        nanosizer.analyze(np.full((128, 128), 100, np.uint8), pixel_size_nm=0.5)


def test_the_bundled_examples_are_ok_and_every_particle_has_a_confidence():
    for path in example_images():
        result = analyze_micrograph(read_micrographs(path)[0], Settings())
        assert result.quality.verdict == "ok", (path.name, result.quality)
        confidence = result.particles["confidence"].to_numpy()
        assert len(confidence) and np.isfinite(confidence).all()
        assert ((confidence > 0.5) & (confidence <= 1.0)).all()
        text, warn = image_status(result.summary)
        assert not warn and "WARNING" not in text


def test_confidence_is_the_mean_probability_over_each_particles_pixels():
    labels = np.zeros((4, 6), np.int64)
    labels[:, :2], labels[:, 4:] = 1, 3
    probability = np.zeros((4, 6), np.uint8)
    probability[:, 0], probability[:, 1], probability[:, 4:] = 255, 51, 102
    confidence = particle_confidence(labels, probability, [1, 3, 2])
    assert confidence[:2] == pytest.approx([0.6, 0.4]) and np.isnan(confidence[2])  # 2: not visible
    assert np.isnan(particle_confidence(labels, None, [1, 3])).all()  # no network, no confidence


def test_threshold_segmenter_gets_a_verdict_without_the_network_signals():
    result = analyze_micrograph(read_micrographs(example_images()[0])[0], Settings(segmenter="threshold"))
    assert "weak_response_share" not in result.quality.signals
    assert result.quality.verdict in ("ok", "doubtful") and result.particles["confidence"].isna().all()


def test_a_batch_keeps_an_unreliable_image_out_of_the_statistics_and_says_so(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    write_synth(_scene("overlap-low", 7, size=320), folder, "good")
    write_synth(_scene("au-phase-grain", 1, coverage=0.0), folder, "grain")
    messages = []
    out = tmp_path / "run"
    report = run_batch([folder], out, Settings(), on_message=lambda text, warn: messages.append((text, warn)))
    assert report.left_out == ["grain"]
    summary = pd.read_csv(out / "summary.csv")
    rows = summary.set_index("image")
    assert (
        rows.loc["grain", "quality"] == "unreliable"
        and "half-responds" in rows.loc["grain", "quality_reasons"]
    )
    assert rows.loc["good", "quality"] == "ok"
    statistics = pd.read_csv(out / "statistics.csv")
    ecd = statistics[statistics["measure"] == "equivalent_diameter_nm"].iloc[0]
    assert ecd["count"] == rows.loc["good", "count"]  # the grain's particles are not pooled
    particles = pd.read_csv(out / "particles.csv")
    assert set(particles["image"]) == {"good"} and "confidence" in particles
    eu = json.loads((out / "eu_criterion.json").read_text())
    assert next(iter(eu.values()))["count"] == rows.loc["good", "count"]
    assert (out / "grain" / "particles.csv").is_file()  # its own folder is written as always
    lines = [text for text, warn in messages if warn]
    assert any(text.startswith("WARNING grain") and "UNRELIABLE" in text for text in lines)
    assert any("left out of the sample statistics: grain" in text for text in lines)
    page = (out / "report.html").read_text()
    assert page.index("grain") < page.index("Sample statistics")  # listed first, with its reason
    assert "badge unreliable" in page and "Left out of the statistics" in page

    kept = tmp_path / "kept"
    report = run_batch([folder], kept, Settings(), keep_unreliable=True)
    assert report.left_out == []
    pooled = pd.read_csv(kept / "statistics.csv")
    count = pooled[pooled["measure"] == "equivalent_diameter_nm"].iloc[0]["count"]
    assert count == rows.loc["good", "count"] + rows.loc["grain", "count"]


def test_a_failed_image_whose_polarity_was_only_assumed_gets_the_dark_field_hint():
    grain = _scene("au-phase-grain", 1, coverage=0.0)
    assumed = _analyse(grain)  # --particles auto, no detector named: dark assumed
    assert assumed.quality.verdict == "unreliable" and POLARITY_HINT in assumed.quality.reasons
    told = _analyse(grain, particles="dark")  # the user said so: no hint
    assert told.quality.verdict == "unreliable" and POLARITY_HINT not in told.quality.reasons
    named = Micrograph(grain.image, grain.pixel_size_nm, "synthetic", "bf", metadata={"detector": "BF"})
    assert POLARITY_HINT not in analyze_micrograph(named, Settings()).quality.reasons


def test_haadf_catalysts_analysed_as_dark_are_unreliable_with_the_specific_hint(realdata):
    for name in ("Ru2", "Pd3"):  # no metadata: dark assumed; bright compact spots say dark-field
        path = realdata / "arda-supported-catalysts" / "images" / f"{name}.jpg"
        result = analyze_micrograph(read_micrographs(path, pixel_size_nm=1.0)[0], Settings())
        assert result.quality.verdict == "unreliable", (name, result.quality)
        assert any("compact bright spots" in reason for reason in result.quality.reasons), name
    path = realdata / "arda-supported-catalysts" / "images" / "Pt_carbon2.jpg"  # bright field, failed
    result = analyze_micrograph(read_micrographs(path, pixel_size_nm=1.0)[0], Settings())
    assert result.quality.verdict == "unreliable" and POLARITY_HINT in result.quality.reasons


def test_the_dark_field_hint_is_specific_only_when_bright_spots_dominate():
    failing = {"weak_response_share": 0.2}
    assert POLARITY_HINT in judge(failing, 10, polarity_assumed=True).reasons
    looks_dark = judge({**failing, "bright_spot_ratio": 24.5}, 10, polarity_assumed=True).reasons
    assert POLARITY_HINT not in looks_dark and any("24 times" in reason for reason in looks_dark)
    looks_bright = judge({**failing, "bright_spot_ratio": 4.8}, 10, polarity_assumed=True).reasons
    assert POLARITY_HINT in looks_bright
    assert not any("--particles" in r for r in judge({**failing, "bright_spot_ratio": 30.0}, 10).reasons)
