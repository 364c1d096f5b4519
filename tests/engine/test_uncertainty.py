"""The uncertainty map's parts, with "denoisers" whose errors are known."""

import numpy as np
from scipy.ndimage import uniform_filter

from napari_noise2same.engine.uncertainty import noise_std_map, renoise_spread, tta_spread, uncertainty


class Identity:
    """Returns its input: re-noising moves it by exactly the noise that was added."""

    def predict(self, image, axes, options=None):
        return np.asarray(image, np.float32).copy()


class Box:
    """A 5x5 mean filter: under white noise of std s its output moves by s / 5."""

    def predict(self, image, axes, options=None):
        return uniform_filter(np.asarray(image, np.float32), size=(1,) * (image.ndim - 2) + (5, 5), mode="reflect")


def _noisy(shape, sigma, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[: shape[-2], : shape[-1]]
    clean = (0.5 + 0.3 * np.sin(xx / 9.0) * np.cos(yy / 7.0)).astype(np.float32)
    clean = np.broadcast_to(clean, shape)
    return (clean + rng.normal(0, sigma, shape)).astype(np.float32)


def test_noise_std_map_finds_each_planes_level():
    noisy = np.stack([_noisy((128, 128), 0.05, 1), _noisy((128, 128), 0.2, 2)])
    sd = noise_std_map(noisy, Box().predict(noisy, "ZYX"), "ZYX")
    assert sd.shape == noisy.shape
    assert 0.04 < np.median(sd[0]) < 0.06 and 0.16 < np.median(sd[1]) < 0.24


def test_renoise_spread_is_the_denoisers_own_noise_propagation():
    noisy = _noisy((128, 128), 0.1)
    identity = renoise_spread(Identity(), noisy, "YX", Identity().predict(noisy, "YX"), draws=16)
    box = renoise_spread(Box(), noisy, "YX", Box().predict(noisy, "YX"), draws=16)
    assert 0.085 < identity.mean() < 0.115  # the noise itself: nothing removed
    assert 0.015 < box.mean() < 0.026  # 0.1 / 5, the std of a 25-pixel mean
    again = renoise_spread(Box(), noisy, "YX", Box().predict(noisy, "YX"), draws=16)
    np.testing.assert_array_equal(box, again)  # seeded: the same map twice


def test_tta_spread_is_zero_for_an_equivariant_denoiser_and_the_map_adds_renoise():
    noisy = _noisy((2, 64, 64), 0.1)
    assert float(tta_spread(Box(), noisy, "CYX").max()) < 1e-5
    u = uncertainty(Box(), noisy, "CYX")
    assert u.shape == noisy.shape and u.dtype == np.float32
    assert 0.015 < u.mean() < 0.026
