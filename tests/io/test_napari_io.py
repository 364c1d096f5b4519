"""Reader and writer through napari and npe2 (needs a display: run under xvfb-run)."""

import numpy as np
import pytest

from napari_noise2same.errors import ImageError
from napari_noise2same.io import read_image

from . import tiff_files

PLUGIN = "napari-noise2same"


def test_npe2_reads_through_the_manifest(tmp_path):
    import npe2

    npe2.PluginManager.instance().discover()  # napari does this at start-up
    manifest = npe2.PluginManager.instance().get_manifest(PLUGIN)
    assert manifest.contributions.readers[0].filename_patterns[:2] == ["*.tif", "*.tiff"]
    assert manifest.contributions.writers[0].layer_types == ["image"]
    tiff_files.hyperstack(tmp_path / "cells.tif")
    layers = npe2.read([str(tmp_path / "cells.tif")], plugin_name=PLUGIN, stack=False)
    assert len(layers) == 1 and layers[0][1]["channel_axis"] == 2


def test_viewer_open_hyperstack(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    data = tiff_files.hyperstack(tmp_path / "cells.tif")
    layers = viewer.open(tmp_path / "cells.tif", plugin=PLUGIN)
    assert [layer.name for layer in layers] == ["DAPI", "GFP"]
    for c, layer in enumerate(layers):
        assert layer.axis_labels == ("t", "z", "y", "x")
        assert list(layer.scale) == pytest.approx([2.5, 0.7, 0.2, 0.2])
        assert [str(u) for u in layer.units] == ["second", "micrometer", "micrometer", "micrometer"]
        np.testing.assert_array_equal(np.asarray(layer.data), data[:, :, c])
    assert viewer.dims.axis_labels == ("t", "z", "y", "x")


def test_viewer_open_rgb_is_one_layer(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    tiff_files.rgb_picture(tmp_path / "photo.tif")
    (layer,) = viewer.open(tmp_path / "photo.tif", plugin=PLUGIN)
    assert layer.rgb and layer.name == "photo" and layer.data.shape == (16, 20, 3)


def test_what_the_user_sees_for_a_broken_tiff(make_napari_viewer, tmp_path, monkeypatch):
    from napari.components import viewer_model
    from napari.errors import ReaderPluginError
    from napari.utils.notifications import Notification

    viewer = make_napari_viewer()
    bad = tmp_path / "bad.tif"
    tiff_files.random_bytes(bad)
    # Picked in napari's reader dialog (or in a script): the exception is ours, and napari's
    # error notification shows its text, one line naming the file and the fix.
    with pytest.raises(ImageError) as info:
        viewer.open(bad, plugin=PLUGIN)
    shown = Notification.from_exception(info.value).message
    assert shown == str(info.value) and shown.startswith(f"cannot read {bad}: it is not a valid TIFF")
    assert "\n" not in shown and "again" in shown
    # Remembered as the reader for *.tif: napari wraps it, the message travels as original_error.
    monkeypatch.setattr(viewer_model, "get_preferred_reader", lambda path: PLUGIN)
    with pytest.raises(ReaderPluginError) as wrapped:
        viewer._open_or_raise_error([str(bad)])
    assert isinstance(wrapped.value.original_error, ImageError)
    assert len(viewer.layers) == 0


def test_writer_round_trip_keeps_axes_sizes_and_dtype(make_napari_viewer, tmp_path):
    from napari.plugins.io import save_layers

    viewer = make_napari_viewer()
    data = tiff_files.hyperstack(tmp_path / "cells.tif")
    dapi, _ = viewer.open(tmp_path / "cells.tif", plugin=PLUGIN)
    out = tmp_path / "out"
    out.mkdir()
    assert save_layers(str(out / "dapi.tif"), [dapi], plugin=PLUGIN) == [str(out / "dapi.tif")]
    assert [p.name for p in out.iterdir()] == ["dapi.tif"]  # atomic: no temporary file left

    back = read_image(out / "dapi.tif")
    assert back.axes == "TZYX" and back.data.dtype == np.uint16 and back.unit == "µm"
    assert back.pixel_size == pytest.approx({"X": 0.2, "Y": 0.2, "Z": 0.7})
    assert back.time_interval == pytest.approx(2.5)
    np.testing.assert_array_equal(back.data, data[:, :, 0])

    (again,) = viewer.open(out / "dapi.tif", plugin=PLUGIN)
    assert again.axis_labels == dapi.axis_labels and list(again.scale) == pytest.approx(list(dapi.scale))


@pytest.mark.parametrize(
    "dtype, labels, units, expect_axes, expect_dtype",
    [
        (np.float64, ("c", "y", "x"), ("pixel", "nm", "nm"), "CYX", np.float32),
        (np.int32, ("z", "y", "x"), ("um", "um", "um"), "ZYX", np.int32),  # not ImageJ: OME-TIFF
        (np.float32, None, None, "ZYX", np.float32),  # napari's default labels: guessed
    ],
)
def test_writer_dtypes_and_axes(make_napari_viewer, tmp_path, dtype, labels, units, expect_axes, expect_dtype):
    from napari.plugins.io import save_layers

    viewer = make_napari_viewer()
    data = (np.random.default_rng(0).random((3, 8, 9)) * 100).astype(dtype)
    layer = viewer.add_image(data, axis_labels=labels, units=units, scale=(2.0, 0.5, 0.5))
    save_layers(str(tmp_path / "x.tiff"), [layer], plugin=PLUGIN)
    back = read_image(tmp_path / "x.tiff")
    assert back.axes == expect_axes and back.data.dtype == expect_dtype
    np.testing.assert_allclose(back.data, data.astype(expect_dtype))
    sizes = {"X": 0.5, "Y": 0.5} if expect_axes == "CYX" else {"X": 0.5, "Y": 0.5, "Z": 2.0}
    assert back.pixel_size == pytest.approx(sizes)
    assert back.unit == {"CYX": "nm", "ZYX": "µm" if units else None}[expect_axes]


def test_writer_keeps_rgb(make_napari_viewer, tmp_path):
    from napari.plugins.io import save_layers

    viewer = make_napari_viewer()
    data = tiff_files.rgb_picture(tmp_path / "photo.tif")
    layer = viewer.add_image(data, rgb=True)
    save_layers(str(tmp_path / "copy.tif"), [layer], plugin=PLUGIN)
    back = read_image(tmp_path / "copy.tif")
    assert back.rgb and back.axes == "YXC"
    np.testing.assert_array_equal(back.data, data)
