"""The noise model given rather than fitted: calibration from camera frames, the engine's fit
kept as a model, its file, and the goodness of fit, on synthetic Poisson-Gaussian data."""

import json

import numpy as np
import pytest

from napari_noise2same.engine.noise_calibration import (
    FORMAT,
    NoiseModel,
    PoissonGaussian,
    calibrate,
    explain,
    from_fit,
    load_noise_model,
    model_from_fit,
    write_noise_model,
)
from napari_noise2same.engine.noise_model import analyse_plane
from napari_noise2same.errors import NoiseModelError

GAIN, OFFSET, READ = 2.0, 100.0, 3.0  # ADU per photon, dark level (ADU), read noise (ADU)


def camera(photons: np.ndarray, rng) -> np.ndarray:
    """What the camera records: variance = GAIN * (mean - OFFSET) + READ**2."""
    return OFFSET + GAIN * rng.poisson(photons) + rng.normal(0, READ, np.shape(photons))


@pytest.fixture(scope="module")
def scene():
    """A smooth ramp with two broad blobs, 5 to about 120 photons, and its camera image."""
    yy, xx = np.mgrid[:256, :256].astype(np.float64)
    photons = 5 + 60 * xx / 255
    for cy, cx in ((80, 70), (170, 180)):
        photons += 55 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 30.0**2))
    noisy = camera(photons, np.random.default_rng(0))
    return OFFSET + GAIN * photons, noisy


def test_calibrate_recovers_gain_offset_and_read_noise_from_dark_frames_and_flats():
    rng = np.random.default_rng(1)
    dark = np.stack([camera(np.zeros((64, 64)), rng) for _ in range(20)])
    flats = [np.stack([camera(np.full((64, 64), level), rng) for _ in range(2)]) for level in (20, 80, 300, 1000)]
    found = calibrate(dark, flats)
    assert found.gain == pytest.approx(GAIN, rel=0.1)
    assert found.offset == pytest.approx(OFFSET, rel=0.1)
    assert found.read_noise == pytest.approx(READ, rel=0.1)
    assert found.variance(OFFSET + GAIN * 50) == pytest.approx(GAIN * GAIN * 50 + READ**2, rel=0.1)


def test_the_engines_fit_recovers_the_gain_and_reads_the_offset_into_the_model(scene):
    clean, noisy = scene
    for reference in (clean, None):  # an ideal denoiser's output, and none (the image smoothed)
        noise = analyse_plane(noisy, reference)
        model = from_fit(noise)
        assert model.gain == pytest.approx(GAIN, rel=0.1)
        assert noise.fit_verdict == "good"
        # the image alone cannot tell the offset from read noise: the intercept is below 0 and
        # read as an offset; the variance from the darkest bin's intensity up is right within 15 %
        truth = GAIN * (clean - OFFSET) + READ**2
        seen = clean >= noise.bins["intensity"][0]
        assert noise.intercept < 0 and model.offset > 0 and seen.mean() > 0.8
        assert np.allclose(model.variance(clean[seen]), truth[seen], rtol=0.15)
        assert model.variance(0.0) > 0  # below the darkest bin: that bin's variance, never 0
    # the true camera model explains the measured bins; one without the offset does not
    assert explain(PoissonGaussian(GAIN, OFFSET, READ), noise.bins)["verdict"] == "good"
    assert explain(PoissonGaussian(GAIN, 0.0, READ), noise.bins)["verdict"] == "poor"
    silent = explain(PoissonGaussian(GAIN, 1e6, 0.0), noise.bins)  # no noise at these intensities
    assert silent["verdict"] == "poor" and silent["worst"] == pytest.approx(10) and set(silent["ratio"]) == {None}


def test_noise_that_is_not_poisson_gaussian_gets_a_poor_verdict():
    yy, xx = np.mgrid[:256, :256]
    clean = 10 + 200 * xx / 255.0 + 0 * yy
    noisy = clean * (1 + 0.1 * np.random.default_rng(2).normal(size=clean.shape))  # std ~ intensity
    assert analyse_plane(noisy, clean).fit_verdict == "poor"
    flat = 50 + np.random.default_rng(3).normal(0, 5, (256, 256))  # no intensities to fit over
    assert analyse_plane(flat, np.full_like(flat, 50.0)).fit_verdict == "no fit"


def test_write_then_load_gives_the_same_model(tmp_path):
    model = NoiseModel([PoissonGaussian(2.0, 100.0, 3.0), PoissonGaussian(1.5, 98.0, 2.5)], units="ADU", notes="x")
    path = write_noise_model(tmp_path / "camera.json", model)
    assert json.loads(path.read_text())["format"] == FORMAT and not list(tmp_path.glob(".*part"))
    loaded = load_noise_model(path, channels=2)
    assert loaded.channels == model.channels and loaded.units == "ADU" and loaded.notes == "x"
    assert loaded.source == "calibration: camera.json"
    assert loaded.variance(1, np.array([98.0, 100.0]))[0] == pytest.approx(2.5**2)
    one = load_noise_model(write_noise_model(tmp_path / "one.json", NoiseModel(model.channels[:1])), channels=3)
    assert one.variance(2, np.array(150.0)) == pytest.approx(2.0 * 50 + 9)  # one channel for all
    fitted = model_from_fit([analyse_plane(np.random.default_rng(4).normal(10, 2, (64, 64)))])
    assert load_noise_model(write_noise_model(tmp_path / "fit.json", fitted)).channels == fitted.channels


def _bad(tmp_path, text):
    path = tmp_path / "bad.json"
    path.write_text(text if isinstance(text, str) else json.dumps(text))
    return path


GOOD = {"format": FORMAT, "version": 1, "channels": [{"gain": 2.0, "offset": 100.0, "read_noise": 3.0}]}


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{'gain': 2", "not JSON"),
        ("__import__('os').system('false')", "not JSON"),
        ({**GOOD, "version": 2}, "upgrade"),
        ({**GOOD, "version": 0}, "version 1 is read"),
        ({**GOOD, "format": "something else"}, '"format": "noise2same-noise-model"'),
        ({**GOOD, "channels": [{"gain": -2.0, "offset": 100.0, "read_noise": 3.0}]}, "gain is -2.0"),
        ({**GOOD, "channels": [{"gain": 2.0, "offset": 100.0}]}, "no read_noise"),
        ({**GOOD, "channels": [{"gain": "2", "offset": 100.0, "read_noise": 3.0}]}, 'gain is "2"'),
        ({**GOOD, "channels": [{"gain": 2.0, "offset": 1e999, "read_noise": 3.0}]}, "finite number"),
        ({**GOOD, "channels": []}, 'no "channels"'),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_bad_files_are_refused_with_one_line_naming_the_fix(tmp_path, content, words):
    with pytest.raises(NoiseModelError) as caught:
        load_noise_model(_bad(tmp_path, content))
    message = str(caught.value)
    assert words in message and "\n" not in message and caught.value.path == tmp_path / "bad.json"
    assert "docs/quality.md" in message or "upgrade" in message


def test_a_missing_file_and_a_wrong_channel_count_are_refused(tmp_path):
    with pytest.raises(NoiseModelError, match="does not exist; check the path"):
        load_noise_model(tmp_path / "absent.json")
    two = {**GOOD, "channels": GOOD["channels"] * 2}
    with pytest.raises(NoiseModelError, match=r"has 2 channels and the image 3: give one channel \(used for all\)"):
        load_noise_model(_bad(tmp_path, two), channels=3)


def test_calibration_frames_that_cannot_give_a_model_are_refused():
    rng = np.random.default_rng(5)
    dark = np.stack([camera(np.zeros((16, 16)), rng) for _ in range(4)])
    with pytest.raises(NoiseModelError, match="2 or more"):
        calibrate(dark[0], [dark])
    with pytest.raises(NoiseModelError, match="not brighter"):
        calibrate(dark, [dark - 10])
    with pytest.raises(NoiseModelError, match="no flat fields"):
        calibrate(dark, [])
