import numpy as np

from napari_noise2same.engine.data import TrainingData


def test_images_are_standardised_and_stats_kept():
    rng = np.random.default_rng(0)
    a = rng.normal(100, 5, (64, 80)).astype(np.float32)
    b = rng.normal(-3, 0.5, (2, 40, 48)).astype(np.float32)
    data = TrainingData.from_arrays([a, b], ["YX", "TYX"], patch_size=32, val_fraction=0)
    assert abs(float(data.means[0][0]) - 100) < 0.5 and abs(float(data.stds[1][0]) - 0.5) < 0.05
    assert abs(data.images[0].mean()) < 1e-4 and abs(data.images[1].std() - 1) < 1e-3
    batch = data.sample(8, np.random.default_rng(0))
    assert batch.shape == (8, 1, 32, 32) and batch.dtype == np.float32


def test_image_smaller_than_patch_gets_a_smaller_patch_or_padding():
    tiny = np.random.default_rng(0).random((5, 13)).astype(np.float32)
    data = TrainingData.from_arrays([tiny], "YX", patch_size=64)
    assert all(p % 4 == 0 and p >= 8 for p in data.patch_size)
    assert data.sample(2, np.random.default_rng(0)).shape == (2, 1, *data.patch_size)


def test_validation_split_holds_out_a_strip_or_samples():
    img = np.random.default_rng(0).random((256, 128)).astype(np.float32)
    data = TrainingData.from_arrays([img], "YX", patch_size=64, val_fraction=0.1)
    (_, _, train_rows), (_, _, val_rows) = data.train_regions[0], data.val_regions[0]
    assert train_rows.stop == val_rows.start and val_rows.stop == 256
    assert data.validation_patches().shape[2:] == (32, 64)
    stack = np.random.default_rng(0).random((20, 64, 64)).astype(np.float32)
    data = TrainingData.from_arrays([stack], "TYX", patch_size=32, val_fraction=0.1)
    assert data.train_regions[0][1] == slice(0, 18) and data.val_regions[0][1] == slice(18, 20)


def test_3d_patches_from_a_volume():
    vol = np.random.default_rng(0).random((12, 40, 40)).astype(np.float32)
    data = TrainingData.from_arrays([vol], "ZYX", dims=3, patch_size=32, val_fraction=0)
    assert data.patch_size == (12, 32, 32)
    assert data.sample(2, np.random.default_rng(0)).shape == (2, 1, 12, 32, 32)
