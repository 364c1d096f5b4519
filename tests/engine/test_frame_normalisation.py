"""Each frame is standardised by its own statistics, in training and in prediction."""

import numpy as np
import pytest

from napari_noise2same.engine import TrainConfig, Trainer, TrainingData
from napari_noise2same.engine.arrays import frame_stats
from napari_noise2same.engine.axes import make_layout
from napari_noise2same.errors import ImageError
from tests.engine.helpers import random_model


def _bleaching(frames=4, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.normal(100, 10, (48, 40)).astype(np.float32)
    return np.stack([base * 0.5**t + rng.normal(0, 2, base.shape) for t in range(frames)]).astype(np.float32)


def test_frame_stats_match_numpy_and_pool_to_the_whole_image():
    stack = _bleaching()
    mean, std, (image_mean, image_std) = frame_stats(stack, make_layout(stack.shape, "TYX", 2))
    assert mean.shape == std.shape == (4, 1)
    np.testing.assert_allclose(mean[:, 0], stack.mean(axis=(1, 2)), rtol=1e-5)
    np.testing.assert_allclose(std[:, 0], stack.std(axis=(1, 2)), rtol=1e-4)
    np.testing.assert_allclose(image_mean, [stack.mean()], rtol=1e-5)
    np.testing.assert_allclose(image_std, [stack.std()], rtol=1e-4)


def test_training_patches_are_standardised_per_frame():
    stack = _bleaching()
    source = TrainingData.from_arrays([stack], "TYX", patch_size=32, val_fraction=0).sources[0]
    for t in range(4):
        frame = source.read(t, (slice(None), slice(None)))
        assert abs(frame.mean()) < 1e-4 and frame.std() == pytest.approx(1.0, rel=1e-3)  # round trip
        np.testing.assert_allclose(frame[0] * source.std[t] + source.mean[t], stack[t], rtol=1e-4, atol=1e-3)


def test_a_blank_frame_takes_the_whole_images_std_and_a_blank_image_is_refused():
    stack = _bleaching()
    stack[2] = 7.0
    mean, std, (_, image_std) = frame_stats(stack, make_layout(stack.shape, "TYX", 2))
    assert mean[2, 0] == pytest.approx(7.0) and std[2, 0] == image_std[0]
    with pytest.raises(ImageError, match="constant"):
        frame_stats(np.full((3, 8, 8), 2.0, np.float32), make_layout((3, 8, 8), "TYX", 2))


def test_prediction_of_a_frame_does_not_depend_on_the_other_frames():
    stack = _bleaching()
    model = random_model()
    model.normalization = {"per": "frame"}
    whole = model.predict(stack, "TYX")
    for t in (0, 3):
        np.testing.assert_allclose(whole[t], model.predict(stack[t], "YX"), rtol=1e-4, atol=1e-3)


def test_models_from_before_use_the_whole_images_statistics():
    stack = _bleaching()
    model = random_model()  # no "per" in its normalisation: trained before per-frame statistics
    assert not model.per_frame
    scaled = stack.copy()
    scaled[0] *= 3  # a change in frame 0 changes the statistics every frame is standardised by
    assert not np.allclose(model.predict(stack, "TYX")[3], model.predict(scaled, "TYX")[3], atol=1e-3)


def test_chunked_prediction_uses_each_frames_statistics():
    da = pytest.importorskip("dask.array")
    from napari_noise2same.engine.chunked import denoise_dask

    stack = _bleaching(frames=3)
    model = random_model()
    model.normalization = {"per": "frame"}
    lazy = denoise_dask(model, da.from_array(stack, chunks=(1, 48, 40)), "TYX", chunk_size=64).compute()
    np.testing.assert_allclose(lazy, model.predict(stack, "TYX"), rtol=1e-4, atol=1e-3)


def test_trained_models_record_per_frame_normalisation():
    stack = _bleaching()
    trainer = Trainer(
        TrainingData.from_arrays([stack], "TYX", patch_size=32, val_fraction=0),
        TrainConfig(preset="tiny", batch_size=2, seed=0),
        axes="TYX",
        device="cpu",
    )
    trainer.train(max_steps=1)
    model = trainer.to_model(diagnose=False)
    assert model.per_frame and model.normalization["mean"][0] == pytest.approx([stack.mean()], rel=1e-4)
