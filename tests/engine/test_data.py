import numpy as np
import pytest

from napari_noise2same.engine.data import TrainingData


def test_images_are_standardised_and_stats_kept():
    rng = np.random.default_rng(0)
    a = rng.normal(100, 5, (64, 80)).astype(np.float32)
    b = rng.normal(-3, 0.5, (2, 40, 48)).astype(np.float32)
    data = TrainingData.from_arrays([a, b], ["YX", "TYX"], patch_size=32, val_fraction=0)
    assert abs(float(data.means[0][0]) - 100) < 0.5 and abs(float(data.stds[1][0]) - 0.5) < 0.05
    first = data.sources[0].read(0, ())
    second = np.stack([data.sources[1].read(n, ()) for n in range(2)])
    assert abs(first.mean()) < 1e-4 and abs(second.std() - 1) < 1e-3
    assert data.shapes == [(1, 1, 64, 80), (2, 1, 40, 48)]
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


def test_lazy_images_are_read_patch_by_patch():
    da = pytest.importorskip("dask.array")
    stack = np.random.default_rng(0).normal(50, 4, (6, 96, 80)).astype(np.float32)
    reads = []

    class Counting:  # a lazy array that records what is read from it
        shape, dtype, ndim = stack.shape, stack.dtype, stack.ndim

        def __getitem__(self, index):
            reads.append(index)
            return stack[index]

    data = TrainingData.from_arrays([Counting()], "TYX", patch_size=32, val_fraction=0)
    eager = TrainingData.from_arrays([stack], "TYX", patch_size=32, val_fraction=0)
    np.testing.assert_allclose(data.means[0], eager.means[0], rtol=1e-6)
    reads.clear()
    batch = data.sample(4, np.random.default_rng(1))
    np.testing.assert_array_equal(batch, eager.sample(4, np.random.default_rng(1)))
    assert len(reads) == 4 and all(isinstance(i[0], int) for i in reads)  # one small read per patch
    lazy = TrainingData.from_arrays([da.from_array(stack, chunks=(1, 96, 80))], "TYX", patch_size=32, val_fraction=0)
    np.testing.assert_array_equal(lazy.sample(4, np.random.default_rng(1)), batch)
