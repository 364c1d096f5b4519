"""Files larger than the memory threshold open as dask arrays that read only what is asked for."""

import dask.array as da
import numpy as np
import pytest
import tifffile

from napari_noise2same._reader import read_tiff_layers
from napari_noise2same.io import images, read_image

from . import tiff_files


@pytest.fixture
def bytes_read(monkeypatch):
    """Counts the image bytes tifffile's Zarr store reads from disk."""
    counter = {"bytes": 0}
    original = tifffile.FileCache.read

    def counting_read(self, filehandle, offset, bytecount, *args, **kwargs):
        counter["bytes"] += bytecount
        return original(self, filehandle, offset, bytecount, *args, **kwargs)

    monkeypatch.setattr(tifffile.FileCache, "read", counting_read)
    return counter


def test_small_files_open_eagerly_by_default(tmp_path):
    tiff_files.hyperstack(tmp_path / "small.tif")
    assert isinstance(read_image(tmp_path / "small.tif").data, np.ndarray)


def test_above_the_threshold_opens_lazily_and_reads_one_plane(tmp_path, monkeypatch, bytes_read):
    data = np.random.default_rng(0).integers(0, 60000, (40, 64, 64), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "big.tif", data, compression="zlib", metadata={"axes": "ZYX"})
    monkeypatch.setattr(images, "LAZY_MEMORY_FRACTION", 1e-12)  # every file is "too big" now

    image = read_image(tmp_path / "big.tif")
    assert isinstance(image.data, da.Array) and image.data.shape == data.shape and image.axes == "ZYX"
    assert bytes_read["bytes"] == 0
    np.testing.assert_array_equal(image.data[17].compute(), data[17])
    assert 0 < bytes_read["bytes"] < 3 * data[0].nbytes  # one compressed plane, not 40

    layers = read_tiff_layers(str(tmp_path / "big.tif"))
    assert isinstance(layers[0][0], da.Array)


def test_lazy_hyperstack_keeps_metadata_and_channel_split(tmp_path, bytes_read):
    data = tiff_files.hyperstack(tmp_path / "cells.tif")
    image = read_image(tmp_path / "cells.tif", lazy=True)
    assert isinstance(image.data, da.Array) and image.axes == "TZCYX" and image.channel_names == ["DAPI", "GFP"]
    np.testing.assert_array_equal(image.data[2, 1, 1].compute(), data[2, 1, 1])
    assert bytes_read["bytes"] == data[0, 0, 0].nbytes


def test_lazy_false_reads_everything(tmp_path, monkeypatch):
    tiff_files.hyperstack(tmp_path / "cells.tif")
    monkeypatch.setattr(images, "LAZY_MEMORY_FRACTION", 1e-12)
    assert isinstance(read_image(tmp_path / "cells.tif", lazy=False).data, np.ndarray)


def test_threshold_follows_available_memory(monkeypatch):
    import psutil

    class Memory:
        available = 8_000_000_000

    monkeypatch.setattr(psutil, "virtual_memory", lambda: Memory)
    assert images.lazy_threshold_bytes() == int(images.LAZY_MEMORY_FRACTION * 8_000_000_000)
