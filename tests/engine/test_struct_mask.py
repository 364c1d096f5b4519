"""Structured masking: the footprint for a measured autocorrelation, none for white noise, and
the loss that replaces the footprint but scores the invariance on J itself."""

import numpy as np
import pytest
import torch
from scipy.ndimage import uniform_filter

from napari_noise2same.engine import TrainConfig, Trainer, TrainingData
from napari_noise2same.engine.masking import apply_mask, stratified_mask
from napari_noise2same.engine.noise import training_planes
from napari_noise2same.engine.objective import masked_loss
from napari_noise2same.engine.struct_mask import choose, extend, noise_autocorrelation, parse
from napari_noise2same.errors import ConfigError
from napari_noise2same.examples import poisson_gaussian, synthetic_cells

WHITE_ACF = [-0.03, -0.02, -0.01, 0.0, 0.01, -0.01, 0.0, 0.0]


@pytest.mark.parametrize(
    "acf, shape",
    [
        ({"Y": WHITE_ACF, "X": WHITE_ACF}, None),  # white noise
        ({"Y": WHITE_ACF, "X": [0.62, 0.1, -0.05, 0, 0, 0, 0, 0]}, (1, 3)),  # [1, 2, 1] / 4 along X
        ({"Y": [0.55, 0.17, -0.18, 0, 0, 0, 0, 0], "X": [0.54, 0.16, -0.2, 0, 0, 0, 0, 0]}, (3, 3)),  # 3 x 3 box
        ({"Y": [0.6, 0.45, 0.2, 0, 0, 0, 0, 0], "X": WHITE_ACF}, (5, 1)),  # two strong lags along Y
        ({"Y": [0.14] * 8, "X": WHITE_ACF}, (17, 1)),  # weak stripes: correlated at every lag
        ({"Y": [0.18, 0.05, 0, 0, 0, 0, 0, 0], "X": WHITE_ACF}, None),  # weak and short: not worth a mask
    ],
)
def test_the_footprint_for_a_measured_autocorrelation(acf, shape):
    chosen, reason = choose(acf)
    assert chosen == shape
    assert reason.startswith("off" if shape is None else f"{shape[0]}x{shape[1]}")


def _data(image):
    return TrainingData.from_arrays([image.astype(np.float32)], "YX")


def _noisy(kind: str, seed: int) -> np.ndarray:
    clean = synthetic_cells((256, 256), seed=1)
    rng = np.random.default_rng(seed)
    white = rng.normal(0, 0.15, clean.shape)
    if kind == "gaussian":
        return clean + white
    if kind == "poisson":
        return poisson_gaussian(clean, photons=10, read_sigma=0.02, seed=seed)
    if kind == "blur-x":
        return clean + 0.5 * white + 0.25 * (np.roll(white, 1, axis=1) + np.roll(white, -1, axis=1))
    if kind == "box3":
        return clean + 2 * uniform_filter(white, 3)
    return clean + 0.5 * white + rng.normal(0, 0.1, clean.shape[1])[None, :]  # column stripes


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("kind", ["gaussian", "poisson"])
def test_white_noise_gets_no_structured_mask(kind, seed):
    trainer = Trainer(_data(_noisy(kind, seed)), TrainConfig(seed=0), device="cpu")
    assert trainer.struct_mask is None
    record = trainer.struct_mask_record
    assert record["struct_mask"] == "off" and record["reason"].startswith("off: the noise looks independent")
    assert trainer.warnings == []


@pytest.mark.parametrize("kind, shape", [("blur-x", (1, 3)), ("box3", (3, 3)), ("stripes", (17, 1))])
def test_correlated_noise_gets_the_footprint_of_its_correlation(kind, shape):
    data = _data(_noisy(kind, 0))
    acf = noise_autocorrelation(training_planes(data))
    assert choose(acf)[0] == shape
    trainer = Trainer(data, TrainConfig(seed=0), device="cpu")
    assert trainer.struct_mask == shape
    assert trainer.struct_mask_record["autocorrelation"] == acf
    # what the model file records and `info` shows
    trainer.train(max_steps=1)
    summary = trainer.to_model(diagnose=False).summary
    assert summary["struct_mask"]["struct_mask"] == f"{shape[0]}x{shape[1]}"


def test_a_given_footprint_wins_and_off_turns_it_off():
    data = _data(_noisy("blur-x", 0))
    assert Trainer(data, TrainConfig(struct_mask="1x5", seed=0), device="cpu").struct_mask == (1, 5)
    assert Trainer(data, TrainConfig(struct_mask="off", seed=0), device="cpu").struct_mask is None
    assert Trainer(data, TrainConfig(struct_mask="1x1", seed=0), device="cpu").struct_mask is None


def test_extend_puts_the_footprint_around_each_masked_pixel():
    mask = torch.zeros((1, 1, 9, 9))
    mask[0, 0, 4, 4] = mask[0, 0, 0, 8] = 1
    out = extend(mask, (1, 5))
    assert out[0, 0, 4].tolist() == [0, 0, 1, 1, 1, 1, 1, 0, 0]
    assert out[0, 0, 0, 6:].tolist() == [1, 1, 1]  # cut at the patch's edge
    assert out.sum() == 5 + 3 and out[0, 0, 3].sum() == 0
    assert extend(mask, (3, 3))[0, 0, 3:6, 3:6].sum() == 9
    assert extend(mask, None) is mask
    volume = torch.zeros((2, 1, 3, 8, 8))
    volume[1, 0, 1, 4, 4] = 1
    grown = extend(volume, (3, 1))  # in 3D: in each plane, not across planes
    assert grown[1, 0, 1, 3:6, 4].tolist() == [1, 1, 1] and grown.sum() == 3


def test_the_loss_replaces_the_footprint_and_scores_invariance_on_j():
    """With the identity as network, f(x) - f(x_J) is x - x_J: the invariance term must be taken
    over J's own pixels (whose footprint was replaced), not over the whole footprint."""
    x = torch.randn((2, 1, 32, 32), generator=torch.Generator().manual_seed(0))
    config = TrainConfig(struct_mask="1x5", lambda_inv=1.0)
    terms = masked_loss(torch.nn.Identity(), x, config, 2.0, 1.0, False, torch.Generator().manual_seed(3), None, (1, 5))
    gen = torch.Generator().manual_seed(3)
    mask = stratified_mask(tuple(x.shape), 2.0, generator=gen)
    replaced = apply_mask(x, extend(mask, (1, 5)), "gaussian", 0.2, generator=gen)
    assert (replaced != x).sum() > 3 * mask.sum()  # the footprint was replaced, not only J
    expected = torch.sqrt(((x - replaced) ** 2 * mask).sum() / mask.sum())
    assert float(terms.reconstruction) == 0.0
    assert float(terms.invariance) == pytest.approx(float(expected), rel=1e-5)
    over_footprint = torch.sqrt(((x - replaced) ** 2).sum() / (replaced != x).sum())
    assert abs(float(terms.invariance) - float(over_footprint)) > 1e-3  # the two differ: J it is


@pytest.mark.parametrize("value", ["4x4", "1x2", "0x3", "35x1", "line", "3", "x5", ""])
def test_bad_footprints_are_refused_with_one_line(value):
    with pytest.raises(ConfigError) as info:
        TrainConfig(struct_mask=value)
    assert "structured mask must be auto, off, or a footprint HxW of odd sides" in str(info.value)
    assert "\n" not in str(info.value)
    with pytest.raises(ValueError):
        parse(value)


def test_a_structured_mask_needs_the_gaussian_replacement():
    with pytest.raises(ConfigError, match="needs the gaussian replacement"):
        TrainConfig(struct_mask="1x3", replacement="donut")
    TrainConfig(struct_mask="auto", replacement="donut")  # auto is then off
    trainer = Trainer(_data(_noisy("blur-x", 0)), TrainConfig(replacement="donut", seed=0), device="cpu")
    assert trainer.struct_mask is None and "donut" in trainer.struct_mask_record["reason"]


def test_models_saved_before_structured_masks_read_as_off():
    assert TrainConfig.from_dict({"dims": 2}).struct_mask == "off"
    assert TrainConfig.from_dict({"dims": 2, "struct_mask": "1x3"}).struct_mask == "1x3"


def test_a_new_setting_between_runs_of_a_model_takes_effect():
    """The widget trains the same model again with other settings: the footprint follows them."""
    from dataclasses import replace

    trainer = Trainer(_data(_noisy("blur-x", 0)), TrainConfig(seed=0), device="cpu")
    assert trainer.struct_mask == (1, 3)
    trainer.reconfigure(replace(trainer.config, struct_mask="1x5"))
    assert (
        trainer.struct_mask == (1, 5)
        and trainer.to_model(diagnose=False).summary["struct_mask"]["struct_mask"] == "1x5"
    )
    trainer.reconfigure(replace(trainer.config, struct_mask="off"))
    assert trainer.struct_mask is None
