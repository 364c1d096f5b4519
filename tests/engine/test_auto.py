"""What preset "auto" chooses for representative devices, dims, data and budgets."""

import pytest
import torch

from napari_noise2same.engine import TrainConfig, Trainer, TrainingData
from napari_noise2same.engine.auto import Budget, choose
from napari_noise2same.engine.memory import check_fits, step_bytes
from napari_noise2same.errors import ConfigError

CPU, CUDA, MPS = torch.device("cpu"), torch.device("cuda"), torch.device("mps")
GIB = 2**30


@pytest.mark.parametrize(
    ("device", "dims", "budget", "preset", "batch"),
    [
        (CPU, 2, Budget(seconds=60), "tiny", 16),
        (CPU, 2, Budget(seconds=1800), "tiny", 16),
        (CPU, 3, Budget(seconds=600), "tiny", 2),
        (CPU, 2, Budget(steps=500), "tiny", 16),
        (CUDA, 2, Budget(seconds=3600), "paper", 64),  # the paper's network and batch
        (CUDA, 3, Budget(seconds=3600), "paper", 4),
        (CUDA, 2, Budget(steps=20000), "paper", 64),
        (CUDA, 2, Budget(seconds=60), "fast", 64),  # a minute is too short for the paper's network
        (MPS, 2, Budget(seconds=600), "paper", 64),
    ],
)
def test_choices(device, dims, budget, preset, batch):
    patch = (16, 64, 64) if dims == 3 else (64, 64)
    config, record = choose(TrainConfig(dims=dims), patch, 1, device, budget, free=64 * GIB)
    assert (config.preset, config.batch_size) == (preset, batch)
    assert record["preset"] == preset and record["batch_size"] == batch and record["reasons"]


@pytest.mark.parametrize(
    ("device", "budget", "mask", "rate"),
    [
        (CPU, Budget(seconds=60), 2.0, 2e-3),  # a short run of tiny: a denser mask and a faster rate
        (CPU, Budget(seconds=180), 2.0, 2e-3),
        (CPU, Budget(seconds=300), 0.5, 1e-3),  # the command line's default budget: measured mixed
        (CPU, Budget(seconds=1800), 0.5, 1e-3),  # a long one: the paper's mask
        (CPU, Budget(steps=5000), 0.5, 1e-3),
        (CUDA, Budget(seconds=60), 0.5, 1e-3),  # fast
        (CUDA, Budget(seconds=3600), 0.5, 1e-3),  # the paper's network with the paper's mask
    ],
)
def test_the_mask_and_the_learning_rate_follow_the_network(device, budget, mask, rate):
    config, record = choose(TrainConfig(), (64, 64), 1, device, budget, free=64 * GIB)
    assert (config.mask_percent, config.learning_rate) == (mask, rate)
    assert (record["mask_percent"], record["learning_rate"]) == (mask, rate)
    assert any(f"mask {mask:g} %" in r for r in record["reasons"])
    typed, _ = choose(TrainConfig(mask_percent=0.7), (64, 64), 1, device, budget, free=64 * GIB)
    assert (typed.mask_percent, typed.learning_rate) == (0.7, rate), "a typed mask wins, the rate is still auto's"


def test_a_gpu_with_little_memory_gets_a_smaller_batch_that_fits():
    free = 3 * GIB
    config, record = choose(TrainConfig(), (64, 64), 1, CUDA, Budget(seconds=3600), free=free)
    assert config.preset == "paper" and 1 <= config.batch_size < 64
    assert step_bytes(2, 96, 1, config.batch_size, (64, 64)) <= 0.6 * free
    assert any("reduced" in r for r in record["reasons"])


def test_a_value_the_user_gives_wins():
    config, record = choose(
        TrainConfig(preset="fast", batch_size=3), (64, 64), 1, CUDA, Budget(seconds=3600), free=64 * GIB
    )
    assert (config.preset, config.batch_size) == ("fast", 3) and record["mask_percent"] == 0.5
    config, record = choose(
        TrainConfig(preset="tiny", batch_size=3, mask_percent=1.0, learning_rate=4e-4), (64, 64), 1, CPU, free=64 * GIB
    )
    assert (config.mask_percent, config.learning_rate) == (1.0, 4e-4) and record is None
    config, record = choose(TrainConfig(batch_size=5), (64, 64), 1, CPU, Budget(seconds=60), free=64 * GIB)
    assert (config.preset, config.batch_size) == ("tiny", 5) and record["preset"] == "tiny"


def test_a_batch_that_does_not_fit_is_refused_with_one_that_does():
    with pytest.raises(ConfigError, match=r"use a batch size of \d+ or less"):
        choose(TrainConfig(preset="paper", batch_size=4000), (64, 64), 1, CPU, Budget(seconds=60), free=8 * GIB)
    with pytest.raises(ConfigError, match="smaller patch size"):
        check_fits(2, 96, 1, 1, (1024, 1024), CPU, free=GIB)


def test_the_trainer_records_what_auto_chose(noisy_pair):
    data = TrainingData.from_arrays([noisy_pair[0]], "YX", patch_size=32, val_fraction=0)
    trainer = Trainer(data, TrainConfig(seed=0), device="cpu", budget=Budget(seconds=60))
    assert trainer.config.preset == "tiny" and trainer.batch_size == 16
    assert trainer.optimizer.param_groups[0]["lr"] == trainer.learning_rate == 2e-3 and trainer.mask_percent == 2.0
    trainer.train(max_steps=1)
    model = trainer.to_model(diagnose=False)
    assert model.train_config.preset == "tiny" and model.summary["auto"]["preset"] == "tiny"
    assert (model.train_config.mask_percent, model.train_config.learning_rate) == (2.0, 2e-3)
    assert model.summary["auto"]["budget"] == {"steps": None, "seconds": 60}


def test_memory_estimate_grows_with_batch_patch_and_width():
    small = step_bytes(2, 16, 1, 16, (64, 64))
    assert step_bytes(2, 16, 1, 32, (64, 64)) > small
    assert step_bytes(2, 16, 1, 16, (128, 128)) > small
    assert step_bytes(2, 96, 1, 16, (64, 64)) > 3 * small
