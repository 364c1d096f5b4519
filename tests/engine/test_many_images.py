"""Training one model from several images: separate validation images, channels trained by one
network each, augmentation switched off, channel counts that do not match."""

import numpy as np
import pytest
import torch

from napari_noise2same.engine import TrainConfig, Trainer, TrainingData, UNet, UNetConfig, load_model
from napari_noise2same.engine.loss import noise2same_loss
from napari_noise2same.errors import ImageError

SMALL = {"preset": "tiny", "patch_size": 32, "batch_size": 4, "seed": 0}


def _noisy(shape, seed, channels=None):
    rng = np.random.default_rng(seed)
    shape = shape if channels is None else (channels, *shape)
    return (rng.normal(0, 1, shape) + 5).astype(np.float32)


@pytest.mark.parametrize("dims", [2, 3])
def test_independent_networks_do_not_see_each_others_channels(dims):
    torch.manual_seed(0)
    net = UNet(UNetConfig.from_preset("tiny", dims, 3, independent=True)).eval()
    single = sum(p.numel() for p in UNet(UNetConfig.from_preset("tiny", dims, 1)).parameters())
    assert sum(p.numel() for p in net.parameters()) == 3 * single  # three networks of the preset's size
    x = torch.randn((2, 3) + (16,) * dims)
    changed = x.clone()
    changed[:, 1] += torch.randn_like(changed[:, 1])
    with torch.no_grad():
        diff = (net(changed) - net(x)).abs().amax(dim=[0, *range(2, 2 + dims)])
    assert diff[1] > 1e-3 and diff[0] == 0 and diff[2] == 0


def test_the_per_channel_loss_is_the_mean_of_each_channels_loss():
    g = torch.Generator().manual_seed(0)
    x, out, out_masked = (torch.randn((4, 2, 8, 8), generator=g) for _ in range(3))
    mask = (torch.rand((4, 2, 8, 8), generator=g) < 0.2).float()
    joint = noise2same_loss(x, out, out_masked, mask, 1.5, per_channel=True)
    each = [
        noise2same_loss(x[:, c : c + 1], out[:, c : c + 1], out_masked[:, c : c + 1], mask[:, c : c + 1], 1.5)
        for c in (0, 1)
    ]
    assert float(joint.total) == pytest.approx(np.mean([float(e.total) for e in each]), rel=1e-6)
    assert float(joint.invariance) == pytest.approx(np.mean([float(e.invariance) for e in each]), rel=1e-6)


def test_independent_channels_train_save_and_load(tmp_path):
    image = _noisy((64, 64), 0, channels=2)
    data = TrainingData.from_arrays([image], "CYX", patch_size=32)
    trainer = Trainer(data, TrainConfig(channel_mode="independent", **SMALL), axes="CYX", device="cpu")
    trainer.train(max_steps=3)
    model = trainer.to_model()
    assert model.channel_mode == "independent" and model.unet_config.groups == 2
    path = model.save(tmp_path / "m.n2s")
    loaded = load_model(path)
    assert loaded.channel_mode == "independent" and loaded.train_config.channel_mode == "independent"
    np.testing.assert_allclose(loaded.predict(image, "CYX"), model.predict(image, "CYX"), atol=1e-5)
    # fine-tuning keeps one network per channel
    again = Trainer(data, TrainConfig(**SMALL), axes="CYX", device="cpu", model=loaded)
    assert again.net.config.groups == 2 and again.config.channel_mode == "independent"


def test_validation_images_replace_the_held_out_strip():
    train = _noisy((64, 96), 0)
    val = np.zeros((48, 40), np.float32)
    val[:, 20:] = 1  # two levels: -1 and +1 once normalised, unlike the training image's noise
    data = TrainingData.from_arrays([train], "YX", patch_size=32, val_fraction=0.2, val_arrays=[val])
    assert data.train_regions == [(0, slice(0, 1), slice(0, 64))]  # every training row trains
    patches = data.validation_patches(limit=5)
    assert patches.shape == (5, 1, 32, 32)
    np.testing.assert_allclose(np.abs(patches), 1, atol=1e-5)  # cut from the validation image
    trainer = Trainer(data, TrainConfig(val_every=2, **SMALL), device="cpu")
    history = trainer.train(max_steps=4)
    assert [h["val_loss"] is not None for h in history] == [False, True, False, True]
    summary = trainer.to_model(diagnose=False).summary
    assert summary["validated_on"] == [[1, 1, 48, 40]] and summary["final_val_loss"] is not None


def test_validation_patches_fit_a_small_validation_image():
    data = TrainingData.from_arrays([_noisy((64, 64), 0)], "YX", patch_size=64, val_arrays=[_noisy((40, 24), 1)])
    assert data.patch_size == (64, 64) and data.validation_patches(limit=2).shape == (2, 1, 40, 24)


def test_images_of_different_shapes_train_one_model():
    data = TrainingData.from_arrays([_noisy((64, 80), 0), _noisy((3, 48, 48), 1)], ["YX", "TYX"], patch_size=32)
    trainer = Trainer(data, TrainConfig(**SMALL), device="cpu")
    trainer.train(max_steps=2)
    assert trainer.to_model(diagnose=False).summary["trained_on"] == [[1, 1, 64, 80], [3, 1, 48, 48]]


def test_mismatched_channel_counts_are_refused_with_one_message():
    with pytest.raises(ImageError, match="different channel counts .*a 2, b 3") as err:
        TrainingData.from_arrays([_noisy((32, 32), 0, 2), _noisy((32, 32), 1, 3)], "CYX", names=["a", "b"])
    assert "\n" not in str(err.value)
    with pytest.raises(ImageError, match="different channel counts"):
        TrainingData.from_arrays([_noisy((32, 32), 0, 2)], "CYX", val_arrays=[_noisy((32, 32), 1)], val_axes="YX")


def test_channel_counts_are_checked_before_any_pixel_is_read(monkeypatch):
    import napari_noise2same.engine.data as data_module

    def no_reading(*args, **kwargs):
        raise AssertionError("statistics were computed before the channel check")

    monkeypatch.setattr(data_module, "frame_stats", no_reading)
    with pytest.raises(ImageError, match="different channel counts"):
        TrainingData.from_arrays([_noisy((32, 32), 0, 2), _noisy((32, 32), 1, 3)], "CYX")


@pytest.mark.parametrize("augment", [True, False])
def test_the_augmentation_switch_reaches_the_sampler(augment, monkeypatch):
    data = TrainingData.from_arrays([_noisy((64, 64), 0)], "YX", patch_size=32)
    seen = []
    original = TrainingData.sample

    def spy(self, batch_size, rng, augment=True):
        seen.append(augment)
        return original(self, batch_size, rng, augment)

    monkeypatch.setattr(TrainingData, "sample", spy)
    Trainer(data, TrainConfig(augment=augment, **SMALL), device="cpu").train(max_steps=2)
    assert seen[-2:] == [augment, augment]


def test_no_augmentation_keeps_the_patch_orientation():
    ramp = np.tile(np.arange(32, dtype=np.float32), (32, 1))  # increases along X only
    data = TrainingData.from_arrays([ramp], "YX", patch_size=32, val_fraction=0)
    rng = np.random.default_rng(0)
    plain = data.sample(8, rng, augment=False)
    assert (np.diff(plain[:, 0], axis=-1) > 0).all()
    augmented = data.sample(16, rng, augment=True)
    assert not (np.diff(augmented[:, 0], axis=-1) > 0).all()
