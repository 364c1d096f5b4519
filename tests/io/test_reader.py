"""The napari reader function and read_image on ImageJ, OME, RGB, pyramidal, multi-series and broken TIFFs."""

import numpy as np
import pytest
import tifffile

from napari_noise2same._reader import get_reader, read_tiff_layers
from napari_noise2same.errors import ImageError
from napari_noise2same.io import read_image

from . import tiff_files


def only_layer(path):
    layers = get_reader(str(path))(str(path))
    assert len(layers) == 1
    return layers[0]


def test_get_reader_takes_only_single_tiff_paths(tmp_path):
    assert get_reader(str(tmp_path / "a.tif")) is read_tiff_layers
    assert get_reader(str(tmp_path / "a.OME.TIFF")) is read_tiff_layers
    assert get_reader(str(tmp_path / "a.png")) is None
    assert get_reader(str(tmp_path / "a.zarr")) is None
    assert get_reader([str(tmp_path / "a.tif"), str(tmp_path / "b.tif")]) is None


def test_imagej_hyperstack_axes_scale_units_and_channels(tmp_path):
    data = tiff_files.hyperstack(tmp_path / "cells.tif")
    image = read_image(tmp_path / "cells.tif")
    assert image.axes == "TZCYX" and image.unit == "µm" and image.time_interval == pytest.approx(2.5)
    assert image.channel_names == ["DAPI", "GFP"]

    layer, kwargs, kind = only_layer(tmp_path / "cells.tif")
    assert kind == "image" and layer.shape == data.shape
    assert kwargs["channel_axis"] == 2 and kwargs["name"] == ["DAPI", "GFP"] and kwargs["rgb"] is False
    assert kwargs["axis_labels"] == ["t", "z", "y", "x"]
    assert kwargs["scale"] == pytest.approx([2.5, 0.7, 0.2, 0.2])
    assert kwargs["units"] == ["second", "micrometer", "micrometer", "micrometer"]


def test_channels_without_names_are_named_after_the_file(tmp_path):
    tiff_files.hyperstack(tmp_path / "cells.tif", labels=None)
    _, kwargs, _ = only_layer(tmp_path / "cells.tif")
    assert kwargs["name"] == ["cells [c0]", "cells [c1]"]


def test_unknown_unit_keeps_the_scale_and_does_not_fail(tmp_path):
    tiff_files.hyperstack(tmp_path / "odd.tif", unit="blorps")
    _, kwargs, _ = only_layer(tmp_path / "odd.tif")
    assert kwargs["scale"] == pytest.approx([2.5, 0.7, 0.2, 0.2])
    assert kwargs["units"] == ["second", "pixel", "pixel", "pixel"]


def test_ome_tiff_sizes_units_and_channel_names(tmp_path):
    data = tiff_files.ome_stack(tmp_path / "vol.ome.tif")
    image = read_image(tmp_path / "vol.ome.tif")
    assert image.axes == "CZYX" and image.unit == "µm"
    assert image.pixel_size == pytest.approx({"X": 0.1, "Y": 0.1, "Z": 0.3})  # 300 nm in X's unit

    layer, kwargs, _ = only_layer(tmp_path / "vol.ome.tif")
    np.testing.assert_array_equal(layer, data)
    assert kwargs["channel_axis"] == 0 and kwargs["name"] == ["nuclei", "membrane"]
    assert kwargs["axis_labels"] == ["z", "y", "x"] and kwargs["scale"] == pytest.approx([0.3, 0.1, 0.1])
    assert kwargs["units"] == ["micrometer"] * 3


def test_ome_time_increment_in_milliseconds(tmp_path):
    tifffile.imwrite(
        tmp_path / "movie.ome.tif",
        np.zeros((4, 8, 9), np.uint8),
        ome=True,
        metadata={"axes": "TYX", "TimeIncrement": 500, "TimeIncrementUnit": "ms"},
    )
    _, kwargs, _ = only_layer(tmp_path / "movie.ome.tif")
    assert kwargs["axis_labels"] == ["t", "y", "x"] and kwargs["scale"][0] == pytest.approx(0.5)
    assert kwargs["units"][0] == "second" and "channel_axis" not in kwargs and kwargs["name"] == "movie"


def test_rgb_stays_one_rgb_layer(tmp_path):
    data = tiff_files.rgb_picture(tmp_path / "photo.tif")
    layer, kwargs, _ = only_layer(tmp_path / "photo.tif")
    assert kwargs["rgb"] is True and "channel_axis" not in kwargs and kwargs["name"] == "photo"
    assert kwargs["axis_labels"] == ["y", "x"] and len(kwargs["scale"]) == 2
    np.testing.assert_array_equal(layer, data)


def test_pyramid_opens_at_full_resolution(tmp_path):
    base = tiff_files.pyramid(tmp_path / "slide.ome.tif")
    for lazy in (False, True):
        image = read_image(tmp_path / "slide.ome.tif", lazy=lazy)
        assert image.data.shape == (64, 64) and image.pixel_size == pytest.approx({"X": 0.5, "Y": 0.5})
        np.testing.assert_array_equal(np.asarray(image.data), base)


def test_multi_series_picks_the_largest(tmp_path):
    stack = tiff_files.multi_series(tmp_path / "multi.tif")
    layer, kwargs, _ = only_layer(tmp_path / "multi.tif")
    np.testing.assert_array_equal(layer, stack)
    assert kwargs["axis_labels"] == ["s", "y", "x"]  # an unnamed stack axis reads back as S in the widgets


@pytest.mark.parametrize("make", ["random", "truncated_imagej", "truncated_plain", "empty"])
def test_broken_tiffs_give_one_clear_message(tmp_path, make):
    bad = tmp_path / "bad.tif"
    if make == "random":
        tiff_files.random_bytes(bad)
    elif make == "truncated_imagej":
        tiff_files.hyperstack(tmp_path / "good.tif")
        tiff_files.truncated(bad, tmp_path / "good.tif")
    elif make == "truncated_plain":
        tifffile.imwrite(tmp_path / "good.tif", np.ones((6, 32, 32), np.uint16), metadata=None)
        tiff_files.truncated(bad, tmp_path / "good.tif")
    else:
        bad.write_bytes(b"")
    for read in (read_image, read_tiff_layers):
        with pytest.raises(ImageError) as info:
            read(str(bad))
        message = str(info.value)
        assert message.startswith(f"cannot read {bad}") and "\n" not in message
        assert "again" in message  # says what to do
        assert info.value.__cause__ is None and info.value.__suppress_context__
