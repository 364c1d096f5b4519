import numpy as np
import pytest

from napari_noise2same.engine import TrainConfig, Trainer, TrainingData
from napari_noise2same.engine.noise import plane_noise_std


def test_plane_estimate_recovers_white_noise_under_structure(noisy_pair):
    noisy, clean = noisy_pair  # sigma 0.15 on a smooth [0, 1] image
    assert plane_noise_std(noisy) == pytest.approx(0.15, rel=0.1)
    pure = np.random.default_rng(0).normal(0, 3.0, (200, 200))
    assert plane_noise_std(pure) == pytest.approx(3.0, rel=0.03)
    assert plane_noise_std(clean) < 0.03  # structure alone is not mistaken for noise


@pytest.mark.parametrize("photons", [1, 4])
def test_plane_estimate_is_the_rms_of_photon_limited_noise(photons):
    """Sparse cells at a few photons: mostly-zero, skewed noise whose std varies with the signal.
    The bound of lambda_inv="auto" needs its RMS; a mean-absolute (Gaussian) statistic reads
    0.72-0.93x here."""
    from napari_noise2same.examples import synthetic_cells

    for seed in (0, 1):
        clean = synthetic_cells((256, 256), seed=seed)
        noisy = np.random.default_rng(seed).poisson(clean * photons) / photons
        rms = np.sqrt(np.mean((noisy - clean) ** 2))
        assert plane_noise_std(noisy) == pytest.approx(rms, rel=0.05)


def test_auto_lambda_is_twice_the_normalised_noise_std(noisy_pair):
    noisy, _ = noisy_pair
    data = TrainingData.from_arrays([noisy], "YX", patch_size=32, val_fraction=0)
    trainer = Trainer(data, TrainConfig(preset="tiny", batch_size=4, lambda_inv="auto", seed=0), device="cpu")
    expected = 2 * 0.15 / noisy.std()
    assert trainer.lambda_inv == pytest.approx(expected, rel=0.1)
    events = []
    trainer.train(max_steps=2, on_event=events.append)
    e = events[-1]
    assert e.loss == pytest.approx(e.reconstruction + trainer.lambda_inv * e.invariance, rel=1e-5)
    summary = trainer.to_model(diagnose=False).summary
    assert summary["lambda_inv"] == pytest.approx(trainer.lambda_inv)


def test_lambda_must_be_a_number_or_auto():
    with pytest.raises(ValueError, match="auto"):
        TrainConfig(lambda_inv="big")
    with pytest.raises(ValueError):
        TrainConfig(lambda_inv=-1)


def _pg_noise(shape=(256, 256), seed=0):
    from napari_noise2same.examples import poisson_gaussian, synthetic_cells

    return poisson_gaussian(synthetic_cells(shape, seed=seed), photons=2, seed=seed)


def test_white_noise_is_not_correlated_and_noise_blurred_along_x_is():
    from napari_noise2same.engine import TrainingData
    from napari_noise2same.engine.noise import CORRELATED, correlation

    white = _pg_noise()
    ratios = correlation(TrainingData.from_arrays([white], "YX"))
    assert max(ratios.values()) < CORRELATED, ratios
    blurred = (0.5 * white + 0.25 * (np.roll(white, 1, axis=1) + np.roll(white, -1, axis=1))).astype(np.float32)
    ratios = correlation(TrainingData.from_arrays([blurred], "YX"))
    assert ratios["X"] > CORRELATED > ratios["Y"], ratios


def test_lambda_auto_warns_about_correlated_noise():
    from napari_noise2same.engine import TrainConfig, Trainer, TrainingData

    white = _pg_noise()
    blurred = (0.5 * white + 0.25 * (np.roll(white, 1, axis=1) + np.roll(white, -1, axis=1))).astype(np.float32)
    quiet = Trainer(
        TrainingData.from_arrays([white], "YX"), TrainConfig(preset="tiny", lambda_inv="auto"), device="cpu"
    )
    warned = Trainer(
        TrainingData.from_arrays([blurred], "YX"), TrainConfig(preset="tiny", lambda_inv="auto"), device="cpu"
    )
    assert quiet.warnings == [] and "correlated" in warned.warnings[0] and "along X" in warned.warnings[0]
