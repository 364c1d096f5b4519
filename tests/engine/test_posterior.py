import numpy as np
import pytest
import torch

from napari_noise2same.engine import TrainConfig, Trainer, TrainingData
from napari_noise2same.engine.model import Noise2SameModel
from napari_noise2same.engine.objective import masked_loss
from napari_noise2same.engine.posterior import combine, groups, posterior
from napari_noise2same.engine.spread import SpreadHead
from napari_noise2same.errors import ConfigError
from napari_noise2same.examples import psnr

from .helpers import random_model


def test_combine_is_the_gaussian_posterior():
    """Prior N(mu, s^2), noise N(0, n^2): the closed form, and what sampling from it gives."""
    rng = np.random.default_rng(0)
    mu, s2, n2 = 2.0, 0.5, 2.0
    clean = rng.normal(mu, np.sqrt(s2), 200_000)
    y = clean + rng.normal(0, np.sqrt(n2), clean.size)
    mean, std, weight = combine(y, np.full_like(y, mu), np.full_like(y, s2 + n2), np.full_like(y, n2))
    np.testing.assert_allclose(mean, (n2 * mu + s2 * y) / (s2 + n2))
    np.testing.assert_allclose(std, np.sqrt(s2 * n2 / (s2 + n2)))
    np.testing.assert_allclose(weight, s2 / (s2 + n2))
    # the posterior mean is the best estimate from y, and its error is the posterior's spread
    assert np.mean((mean - clean) ** 2) == pytest.approx(std[0] ** 2, rel=0.02)
    for w in (0.1, 0.3):  # any other weight of the observation does worse
        assert np.mean((mu + w * (y - mu) - clean) ** 2) > np.mean((mean - clean) ** 2)


def test_combine_trusts_the_context_where_the_prior_is_no_wider_than_the_noise():
    mean, std, _ = combine(np.array([5.0]), np.array([1.0]), np.array([0.8]), np.array([1.0]))
    assert mean[0] == pytest.approx(1.0) and std[0] == pytest.approx(0.0)


@pytest.mark.parametrize("k, shape", [(4, (20, 20)), (9, (30, 30)), (16, (32, 32)), (9, (9, 12, 12))])
def test_each_pass_masks_pixels_apart_and_all_passes_cover_the_image(k, shape):
    g = groups(shape, k)
    assert set(np.unique(g)) == set(range(k))
    counts = np.bincount(g.ravel(), minlength=k)
    assert counts.max() - counts.min() <= max(counts.max() * 0.25, 1)  # about one k-th each
    # no two pixels of one pass are side by side (k >= 9 in 2D: not even diagonally)
    dims = len(shape)
    near = [o for o in np.ndindex(*(3,) * dims) if any(v != 1 for v in o)]
    for o in near:
        d = np.array(o) - 1
        if k < 9 and dims == 2 and np.abs(d).sum() == 2:
            continue
        a = g[tuple(slice(max(0, -v), s - max(0, v)) for v, s in zip(d, shape, strict=True))]
        b = g[tuple(slice(max(0, v), s - max(0, -v)) for v, s in zip(d, shape, strict=True))]
        assert not np.any(a == b), (k, shape, d)


def test_the_spread_head_learns_beside_the_network_without_changing_it(noisy_pair):
    """The network's gradients are the same with the spread head's loss added (its input is detached)."""
    torch.manual_seed(0)
    data = TrainingData.from_arrays([noisy_pair[0]], "YX", patch_size=32, val_fraction=0.1)
    trainer = Trainer(data, TrainConfig(preset="tiny", patch_size=32, batch_size=4, seed=0), device="cpu")
    x = torch.from_numpy(np.stack([noisy_pair[0][None, :32, :32]] * 4))
    grads = []
    for spread in (None, trainer.spread):
        trainer.net.zero_grad()
        args = (trainer.net, x, trainer.config, 2.0, 1.0, False, torch.Generator().manual_seed(1))
        terms = masked_loss(*args, spread=spread)
        loss = terms.total if terms.spread is None else terms.total + terms.spread
        loss.backward()
        grads.append([p.grad.clone() for p in trainer.net.parameters()])
    assert terms.spread is not None and torch.isfinite(terms.spread)
    assert all(torch.equal(a, b) for a, b in zip(*grads, strict=True))
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in trainer.spread.parameters())


@pytest.fixture(scope="module")
def trained(noisy_pair):
    data = TrainingData.from_arrays([noisy_pair[0]], "YX", patch_size=32, val_fraction=0.1)
    config = TrainConfig(preset="tiny", patch_size=32, batch_size=8, seed=0)
    trainer = Trainer(data, config, device="cpu")
    trainer.train(max_steps=250)
    return trainer.to_model(diagnose=False)


def test_the_posterior_of_a_trained_model_denoises_and_knows_its_error(trained, noisy_pair):
    noisy, clean = noisy_pair
    post = posterior(trained, noisy, "YX")
    assert post.mean.shape == post.std.shape == post.context.shape == noisy.shape
    before, after = psnr(clean, noisy, 1.0), psnr(clean, post.mean, 1.0)
    assert after > before + 4, (before, after)
    assert psnr(clean, post.context, 1.0) > before + 4
    # the posterior spread: of the order of the real error (within 2x), never above the noise (0.15)
    rmse = float(np.sqrt(np.mean((post.mean - clean) ** 2)))
    assert 0.5 < float(np.sqrt(np.mean(post.std**2))) / rmse < 2.0
    assert float(post.std.max()) <= 0.15 * 1.5


def test_a_given_noise_model_is_used(trained, noisy_pair):
    """A noise level far above the real one: the posterior keeps to the context prediction."""
    noisy, _ = noisy_pair
    post = posterior(trained, noisy, "YX", noise_variance=lambda c, intensity: np.full(intensity.shape, 10.0))
    np.testing.assert_allclose(post.mean, post.context, atol=1e-5)
    assert float(post.std.max()) < 1e-3


def test_the_spread_head_is_saved_with_the_model(trained, noisy_pair, tmp_path):
    path = tmp_path / "m.n2s"
    trained.save(path)
    again = Noise2SameModel.load(path)
    assert isinstance(again.spread, SpreadHead)
    image = noisy_pair[0][:64, :64]
    a, b = posterior(trained, image, "YX"), posterior(again, image, "YX")
    np.testing.assert_allclose(a.mean, b.mean, atol=1e-5)
    np.testing.assert_allclose(a.std, b.std, atol=1e-5)


def test_a_model_without_a_spread_head_is_refused_with_one_line(tmp_path):
    old = random_model()
    old.save(tmp_path / "old.n2s")
    loaded = Noise2SameModel.load(tmp_path / "old.n2s")
    assert loaded.spread is None
    with pytest.raises(ConfigError) as e:
        posterior(loaded, np.zeros((32, 32), np.float32), "YX")
    assert "\n" not in str(e.value) and "train" in str(e.value)


def test_sure_tells_the_posteriors_gain_without_the_clean_image(trained, noisy_pair):
    """On Gaussian noise SURE's gain of the posterior over the network's output is the true one
    (measured with the clean image) within 0.3 dB, and auto follows it."""
    from napari_noise2same.engine.estimate import MIN_GAIN_DB, choose_estimate, describe, sure_gain_db

    noisy, clean = noisy_pair
    out = trained.predict(noisy, "YX")
    post = posterior(trained, noisy, "YX")
    true = 10 * np.log10(np.mean((out - clean) ** 2) / np.mean((post.mean - clean) ** 2))
    sure, why = sure_gain_db(trained, noisy, "YX")
    assert sure is not None and not why and abs(sure - true) < 0.3, (sure, true)
    data = TrainingData.from_arrays([noisy], "YX", patch_size=32)
    chosen = choose_estimate(trained, data.sources[0], "auto")
    assert chosen["estimate"] == ("posterior" if chosen["sure_gain_db"] >= MIN_GAIN_DB else "n2s")
    assert "chosen by auto: SURE puts" in describe(chosen)
    assert choose_estimate(trained, data.sources[0], "n2s") == {"estimate": "n2s", "chosen_by": "hand"}
