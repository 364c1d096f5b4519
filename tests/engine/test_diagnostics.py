import numpy as np
import pytest
import torch

from napari_noise2same.engine import TrainConfig, Trainer, TrainingData
from napari_noise2same.engine.diagnostics import invariance_measure
from napari_noise2same.engine.masking import donut_kernel


class _Donut(torch.nn.Module):
    """A J-invariant function by construction: each output is the mean of the neighbours."""

    def forward(self, x):
        return torch.nn.functional.conv2d(x, donut_kernel(2, 1), padding=1)


def test_measure_is_zero_for_a_blind_spot_function_and_positive_for_identity():
    patches = np.random.default_rng(0).normal(size=(8, 1, 64, 64)).astype(np.float32)
    assert invariance_measure(_Donut(), patches) == pytest.approx(0.0, abs=1e-12)
    # identity: the change is (noise - x)^2, expected 0.5^2 + 1 = 1.25
    assert invariance_measure(torch.nn.Identity(), patches, repeats=64) == pytest.approx(1.25, rel=0.3)


def test_the_standard_error_shrinks_with_pixels_and_covers_the_truth():
    """Identity: the change at a replaced pixel is (noise - x)^2, of mean 0.5^2 + 1 = 1.25; the
    replaced pixels are far enough apart to be independent, so the standard error holds."""
    from napari_noise2same.engine.diagnostics import invariance_statistics

    patches = np.random.default_rng(1).normal(size=(32, 1, 64, 64)).astype(np.float32)
    few, many = (invariance_statistics(lambda b: b, patches, repeats=r) for r in (4, 64))
    assert many.pixels > 10 * few.pixels and many.pixels >= 32 * 64 and many.se < few.se / 2
    assert abs(many.d - 1.25) < 4 * many.se


def test_invariance_term_controls_how_far_noise2same_leaves_j_invariance(noisy_pair):
    """lambda_inv = 0 is plain reconstruction (the identity is optimal, D large); the
    invariance term pulls D(f) towards 0 without forcing it there."""
    noisy = noisy_pair[0]
    measures = {}
    for lambda_inv in (0.0, 2.0):
        data = TrainingData.from_arrays([noisy], "YX", patch_size=32, val_fraction=0.1)
        cfg = TrainConfig(preset="tiny", patch_size=32, batch_size=8, seed=0, lambda_inv=lambda_inv)
        trainer = Trainer(data, cfg, device="cpu")
        trainer.train(max_steps=150)
        measures[lambda_inv] = trainer.to_model().summary["invariance_D"]
    assert 0 < measures[2.0] < 0.2 * measures[0.0], measures
