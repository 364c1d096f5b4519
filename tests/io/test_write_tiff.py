"""write_tiff's new options: time step, channel names, RGB, axis orders TIFF cannot store as given."""

import numpy as np
import pytest
import tifffile

from napari_noise2same.errors import ImageError
from napari_noise2same.io import read_image, write_tiff


def stack(shape, dtype=np.float32):
    return (np.random.default_rng(0).random(shape) * 200).astype(dtype)


@pytest.mark.parametrize("dtype, imagej", [(np.uint16, True), (np.int32, False)])
def test_time_step_and_channel_names_round_trip(tmp_path, dtype, imagej):
    data = stack((3, 2, 2, 8, 9), dtype)
    path = write_tiff(
        tmp_path / "t.tif",
        data,
        "TZCYX",
        {"X": 0.3, "Y": 0.3, "Z": 1.0},
        "nm",
        time_interval=4.0,
        channel_names=["a", "b"],
    )
    with tifffile.TiffFile(path) as tif:
        assert tif.is_imagej == imagej and tif.is_ome != imagej
    back = read_image(path)
    assert back.axes == "TZCYX" and back.data.dtype == dtype and back.unit == "nm"
    assert back.time_interval == pytest.approx(4.0) and back.channel_names == ["a", "b"]
    assert back.pixel_size == pytest.approx({"X": 0.3, "Y": 0.3, "Z": 1.0})


def test_old_positional_call_still_works(tmp_path):
    data = stack((4, 8, 9))
    write_tiff(tmp_path / "p.tif", data, "ZYX", {"X": 0.5, "Y": 0.5, "Z": 2.0}, "µm")
    back = read_image(tmp_path / "p.tif")
    assert back.axes == "ZYX" and back.time_interval is None and back.channel_names == [] and not back.rgb


def test_trailing_channels_are_stored_as_samples(tmp_path):
    data = stack((8, 9, 5))
    back = read_image(write_tiff(tmp_path / "yxc.tif", data, "YXC"))
    assert back.axes == "YXC" and not back.rgb
    np.testing.assert_array_equal(back.data, data)


def test_y_and_x_are_moved_last_when_needed(tmp_path):
    data = stack((8, 9, 4))
    back = read_image(write_tiff(tmp_path / "yxz.tif", data, "YXZ", {"X": 0.2, "Y": 0.2, "Z": 1.0}))
    assert back.axes == "ZYX" and back.pixel_size == pytest.approx({"X": 0.2, "Y": 0.2, "Z": 1.0})
    np.testing.assert_array_equal(back.data, np.moveaxis(data, 2, 0))


def test_rgb_round_trip_with_frames(tmp_path):
    data = stack((2, 8, 9, 3), np.uint8)
    back = read_image(write_tiff(tmp_path / "rgb.tif", data, "TYXC", {"X": 0.5, "Y": 0.5}, "µm", rgb=True))
    assert back.rgb and back.axes == "TYXC" and back.pixel_size == pytest.approx({"X": 0.5, "Y": 0.5})
    np.testing.assert_array_equal(back.data, data)


def test_bad_axes_are_a_clear_error(tmp_path):
    with pytest.raises(ImageError, match="name each axis once"):
        write_tiff(tmp_path / "bad.tif", stack((8, 9)), "ZX")
    assert list(tmp_path.iterdir()) == []
