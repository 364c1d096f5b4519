"""A TIFF volume opened through the plugin's reader (lazily) trains a 3D model and is denoised."""

import numpy as np
import tifffile

import napari_noise2same.io.images as images
from napari_noise2same.examples import poisson_gaussian, synthetic_cells

PLUGIN = "napari-noise2same"


def test_lazily_opened_volume_trains_3d_and_keeps_geometry(make_napari_viewer, qtbot, tmp_path, monkeypatch):
    clean = synthetic_cells((8, 48, 48), seed=2)
    path = tmp_path / "nuclei.tif"
    tifffile.imwrite(
        path,
        (poisson_gaussian(clean, photons=30) * 1000).astype(np.uint16),
        imagej=True,
        resolution=(1 / 0.2, 1 / 0.2),
        metadata={"axes": "ZYX", "spacing": 0.6, "unit": "um"},
    )
    monkeypatch.setattr(images, "LAZY_MEMORY_FRACTION", 1e-12)  # opens as a dask array, as a huge file would
    viewer = make_napari_viewer()
    [layer] = viewer.open(path, plugin=PLUGIN)
    assert type(layer.data).__module__.startswith("dask")
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Train Noise2Same")
    assert widget.layer.value is layer and widget.axes.value == "ZYX"
    widget.dims.value = 3
    widget.preset.value, widget.patch_size.value, widget.batch_size.value = "tiny", 32, 2
    widget.max_steps.value, widget.seed.value = 5, 0
    widget.train_button.clicked.emit()
    qtbot.waitUntil(lambda: not widget.busy and "nuclei_denoised" in viewer.layers, timeout=60_000)
    out = viewer.layers["nuclei_denoised"]
    assert out.data.shape == layer.data.shape and np.isfinite(out.data).all()
    np.testing.assert_allclose(out.scale, layer.scale)
    assert tuple(out.axis_labels) == tuple(layer.axis_labels) == ("z", "y", "x")
    assert widget.model.dims == 3 and widget.trainer.data.patch_size == (8, 32, 32)
