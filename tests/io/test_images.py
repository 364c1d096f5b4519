import numpy as np
import pytest
import tifffile

from napari_noise2same.errors import ImageError
from napari_noise2same.io import find_inputs, read_image, write_tiff


def test_imagej_hyperstack_axes_and_pixel_size(tmp_path):
    data = np.random.default_rng(0).integers(0, 4000, (3, 5, 2, 32, 40), dtype=np.uint16)
    path = tmp_path / "stack.tif"
    tifffile.imwrite(
        path, data, imagej=True, resolution=(1 / 0.1, 1 / 0.1), metadata={"axes": "TZCYX", "spacing": 0.5, "unit": "um"}
    )
    image = read_image(path)
    assert image.axes == "TZCYX" and image.data.shape == data.shape
    assert image.pixel_size == pytest.approx({"X": 0.1, "Y": 0.1, "Z": 0.5})
    assert image.unit == "µm"


def test_ome_tiff_axes_and_pixel_size(tmp_path):
    data = np.zeros((4, 24, 28), np.float32)
    path = tmp_path / "vol.ome.tif"
    tifffile.imwrite(
        path, data, ome=True, metadata={"axes": "ZYX", "PhysicalSizeX": 0.2, "PhysicalSizeY": 0.2, "PhysicalSizeZ": 1.0}
    )
    image = read_image(path)
    assert image.axes == "ZYX" and image.pixel_size == pytest.approx({"X": 0.2, "Y": 0.2, "Z": 1.0})


@pytest.mark.parametrize("axes", ["TZCYX", "ZYX", "YX", "CYX"])
def test_write_read_round_trip_keeps_axes_and_pixel_size(tmp_path, axes):
    shape = {"T": 2, "Z": 3, "C": 2, "Y": 16, "X": 20}
    data = np.random.default_rng(0).random([shape[a] for a in axes]).astype(np.float32)
    sizes = {a: s for a, s in {"X": 0.3, "Y": 0.3, "Z": 1.5}.items() if a in axes}
    path = write_tiff(tmp_path / "out.tif", data, axes, sizes, "µm")
    back = read_image(path)
    assert back.axes == axes
    np.testing.assert_array_equal(back.data, data)
    assert back.pixel_size == pytest.approx(sizes)
    assert [p.name for p in tmp_path.iterdir()] == ["out.tif"]


def test_non_imagej_order_goes_to_ome(tmp_path):
    data = np.zeros((16, 20, 3), np.float32)
    back = read_image(write_tiff(tmp_path / "yxc.tif", data, "YXC", {"X": 0.5, "Y": 0.5}))
    assert back.data.shape == (16, 20, 3) and back.pixel_size == pytest.approx({"X": 0.5, "Y": 0.5})


def test_png_and_bad_files(tmp_path):
    from PIL import Image

    Image.fromarray(np.zeros((10, 12), np.uint8)).save(tmp_path / "a.png")
    assert read_image(tmp_path / "a.png").axes == "YX"
    (tmp_path / "broken.tif").write_bytes(b"II*\x00garbage")
    with pytest.raises(ImageError, match="cannot read"):
        read_image(tmp_path / "broken.tif")
    with pytest.raises(ImageError, match="does not exist"):
        find_inputs([str(tmp_path / "nope.tif")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImageError, match="no .tif"):
        find_inputs([str(tmp_path / "empty")])
    assert [p.name for p in find_inputs([str(tmp_path / "*.png")])] == ["a.png"]
