"""Every bad training setting is refused with one message naming the allowed range."""

import math

import pytest

from napari_noise2same.engine import TrainConfig
from napari_noise2same.engine.config import check_budget
from napari_noise2same.errors import ConfigError, Noise2SameError


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("batch_size", 0, "batch size must be a whole number at least 1"),
        ("batch_size", -1, "batch size"),
        ("batch_size", 10**6, "at most 4,096"),
        ("batch_size", 2.5, "whole number"),
        ("patch_size", 0, "patch size"),
        ("patch_size", 100_000, "at most 1,024"),
        ("learning_rate", 0.0, "learning rate must be a number more than 0"),
        ("learning_rate", -1e-3, "learning rate"),
        ("learning_rate", math.nan, "learning rate"),
        ("mask_percent", 0.0, "mask percent"),
        ("mask_percent", 1e9, "mask percent"),
        ("lambda_inv", -1.0, "lambda_inv"),
        ("lambda_inv", 1e12, "lambda_inv must be a number at least 0 and at most 100 or 'auto'"),
        ("lambda_inv", "two", "lambda_inv"),
        ("val_fraction", 0.6, "validation fraction"),
        ("val_every", 0, "validation interval"),
        ("lr_halve_every", 0, "halving interval"),
        ("mask_sigma", 0.0, "mask sigma"),
        ("seed", -1, "seed must be a whole number at least 0"),
        ("preset", "huge", "network preset must be one of"),
        ("lr_schedule", "sometimes", "learning-rate schedule"),
        ("dims", 4, "dims"),
    ],
)
def test_bad_values_are_refused_with_the_range(field, value, words):
    with pytest.raises(ConfigError, match=words) as info:
        TrainConfig(**{field: value})
    assert isinstance(info.value, Noise2SameError) and isinstance(info.value, ValueError)
    assert "\n" not in str(info.value)


def test_defaults_are_accepted_and_auto():
    config = TrainConfig()
    assert config.preset == "auto" and config.batch_size is None and config.is_auto
    assert TrainConfig(preset="tiny", batch_size=4).is_auto, "the mask and the learning rate are still auto's"
    assert not TrainConfig(preset="tiny", batch_size=4, mask_percent=0.5, learning_rate=1e-3).is_auto


@pytest.mark.parametrize(
    ("steps", "seconds"),
    [(None, None), (0, None), (-5, None), (None, 0.0), (None, -1.0), (None, math.inf), (None, 1e12)],
)
def test_bad_budgets_are_refused(steps, seconds):
    with pytest.raises(ConfigError):
        check_budget(steps, seconds)


def test_good_budgets_pass():
    check_budget(1, None)
    check_budget(None, 0.5)
    check_budget(100, 60.0)
