"""The quality report's parts on images with known answers."""

import numpy as np
import pytest

from napari_noise2same.engine.noise_model import analyse_plane
from napari_noise2same.engine.quality import residual_structure
from napari_noise2same.examples import poisson_gaussian, synthetic_cells


@pytest.fixture(scope="module")
def scene():
    clean = synthetic_cells((256, 256), seed=3) * 100 + 10
    noisy = poisson_gaussian(clean / 110, photons=20, seed=3) * 110
    return clean.astype(np.float64), noisy.astype(np.float64)


def _blur_x(noise):
    return 0.5 * noise + 0.25 * (np.roll(noise, 1, axis=1) + np.roll(noise, -1, axis=1))


def test_white_poisson_gaussian_noise_is_not_correlated_and_its_gain_is_found(scene):
    clean, noisy = scene
    for denoised in (clean, None):  # the residual of an ideal denoiser, and no denoiser at all
        found = analyse_plane(noisy, denoised)
        assert not found.correlated, found
    found = analyse_plane(noisy, clean)
    assert abs(found.autocorrelation["X"][0]) < 0.1 and abs(found.autocorrelation["Y"][0]) < 0.1
    # photons 20 at 110: variance = (110 / 20) * intensity, plus the Gaussian read noise
    assert found.gain == pytest.approx(110 / 20, rel=0.35) and found.fit_r2 > 0.8


def test_the_same_noise_blurred_along_x_is_correlated_along_x(scene):
    clean, noisy = scene
    blurred = clean + _blur_x(noisy - clean)
    found = analyse_plane(blurred, clean)
    assert found.correlated and found.autocorrelation["X"][0] > 0.4 > found.autocorrelation["Y"][0]
    assert analyse_plane(blurred, None).correlated  # also without a denoised image (lag ratio)


def test_a_denoiser_that_removes_a_spot_is_flagged_there(scene):
    clean, noisy = scene
    yy, xx = np.mgrid[:256, :256]
    spot = (yy - 120) ** 2 + (xx - 90) ** 2 < 20**2
    noise = analyse_plane(noisy, clean)
    honest = residual_structure(noisy, clean, noise)
    assert honest.mean() < 0.02  # the ideal denoiser: its residual is noise nearly everywhere
    with_spot = noisy + 60 * spot  # the image has a bright spot ...
    removed = residual_structure(with_spot, clean, noise)  # ... that the "denoiser" took away
    assert removed[spot].mean() > 0.8 and removed[~spot].mean() < 0.02
