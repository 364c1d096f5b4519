import numpy as np
import pytest

from tests.engine.helpers import random_model

PLUGIN = "napari-noise2same"


@pytest.fixture
def predict_widget(make_napari_viewer):
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Denoise with Noise2Same model")
    return viewer, widget


def test_model_file_round_trip_denoises_selected_layers(predict_widget, qtbot, tmp_path):
    viewer, widget = predict_widget
    model = random_model()
    model.summary = {"steps": 42, "date": "2026-11-24T10:00:00+00:00"}
    model.save(tmp_path / "m.n2s")
    a = viewer.add_image(np.random.default_rng(0).random((64, 72)).astype(np.float32), name="a", scale=(2, 2))
    b = viewer.add_image(np.random.default_rng(1).random((40, 40)).astype(np.float32), name="b")
    widget.reset_choices()
    widget.source.value = "model file…"
    widget.model_file.value = tmp_path / "m.n2s"
    assert "42 steps" in widget.model_info.value and "2D" in widget.model_info.value
    widget.layers.value = [a, b]
    widget.denoise_button.clicked.emit()
    qtbot.waitUntil(lambda: "b_denoised" in viewer.layers, timeout=20_000)
    qtbot.waitUntil(lambda: widget.status.value == "Done.", timeout=5000)
    assert not widget.progress.native.isHidden() and widget.progress.value == widget.progress.max  # 100 %, not 0 %
    expected = model.predict(a.data, "YX")
    np.testing.assert_allclose(viewer.layers["a_denoised"].data, expected, atol=1e-5)
    np.testing.assert_allclose(viewer.layers["a_denoised"].scale, (2, 2))


def test_mismatched_model_is_refused(predict_widget, qtbot, monkeypatch):
    import napari_noise2same.widgets.predict as predict_module

    messages = []
    monkeypatch.setattr(predict_module, "report", lambda e, action: messages.append(str(e)))
    viewer, widget = predict_widget
    widget.use_model(random_model(dims=3))
    layer = viewer.add_image(np.zeros((32, 32), np.float32), name="flat2d")
    widget.reset_choices()
    widget.layers.value = [layer]
    widget.denoise_button.clicked.emit()
    assert messages and "3D" in messages[0] and "flat2d_denoised" not in viewer.layers


def test_garbage_model_file_is_a_message(predict_widget, tmp_path, monkeypatch):
    import napari_noise2same.widgets.predict as predict_module

    messages = []
    monkeypatch.setattr(predict_module, "report", lambda e, action: messages.append(str(e)))
    viewer, widget = predict_widget
    (tmp_path / "bad.n2s").write_bytes(b"not a model")
    widget.load(tmp_path / "bad.n2s")
    assert widget.model is None and "not a readable" in messages[0]


def test_model_from_training_widget_without_a_file(make_napari_viewer, qtbot, noisy_pair):
    viewer = make_napari_viewer()
    viewer.add_image(noisy_pair[0], name="handoff")
    _, trainer = viewer.window.add_plugin_dock_widget(PLUGIN, "Train Noise2Same")
    _, predictor = viewer.window.add_plugin_dock_widget(PLUGIN, "Denoise with Noise2Same model")
    trainer.preset.value, trainer.patch_size.value, trainer.batch_size.value = "tiny", 32, 4
    trainer.max_steps.value = 3
    trainer.train_button.clicked.emit()
    qtbot.waitUntil(lambda: not trainer.busy and trainer.model is not None, timeout=30_000)
    assert predictor.source.value.startswith("handoff") and predictor.model is trainer.model


def test_folder_mode_writes_one_file_per_input_without_loading_them(predict_widget, qtbot, tmp_path):
    import tifffile

    from napari_noise2same.io import read_image

    viewer, widget = predict_widget
    model = random_model()
    model.save(tmp_path / "m.n2s")
    src = tmp_path / "in"
    src.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        tifffile.imwrite(
            src / f"f{i}.tif",
            rng.random((48, 56)).astype(np.float32),
            imagej=True,
            resolution=(1 / 0.4, 1 / 0.4),
            metadata={"axes": "YX", "unit": "um"},
        )
    (src / "broken.tif").write_bytes(b"not a tiff")
    widget.source.value = "model file…"
    widget.model_file.value = tmp_path / "m.n2s"
    widget.mode.value = "folder"
    assert not widget.input_folder.native.isHidden() and widget.layers.native.isHidden()
    widget.input_folder.value = src
    widget.output_folder.value = tmp_path / "out"
    widget.denoise_button.clicked.emit()
    qtbot.waitUntil(lambda: widget.denoise_button.enabled, timeout=30_000)
    assert "Denoised 3 of 4 file(s). Skipped 1: broken.tif" in widget.status.value
    for i in range(3):
        result = read_image(tmp_path / "out" / f"f{i}_denoised.tif")
        expected = model.predict(tifffile.imread(src / f"f{i}.tif"), "YX")
        np.testing.assert_allclose(result.data, expected, atol=1e-5)
        assert result.pixel_size["X"] == pytest.approx(0.4, rel=1e-4)
    assert len(viewer.layers) == 0  # nothing was loaded into the viewer


def test_folder_mode_stop_leaves_no_partial_file(predict_widget, qtbot, tmp_path):
    import tifffile

    viewer, widget = predict_widget
    widget.use_model(random_model())
    src = tmp_path / "in"
    src.mkdir()
    tifffile.imwrite(
        src / "big.tif",
        np.random.default_rng(0).random((6, 512, 512)).astype(np.float32),
        imagej=True,
        metadata={"axes": "ZYX"},
    )
    widget.mode.value = "folder"
    widget.input_folder.value, widget.output_folder.value = src, tmp_path / "out"
    widget.tile_size.value = 128
    widget.denoise_button.clicked.emit()
    qtbot.waitUntil(lambda: widget.progress.value > 0, timeout=20_000)
    widget.stop_button.clicked.emit()
    qtbot.waitUntil(lambda: widget.denoise_button.enabled, timeout=20_000)
    assert widget.status.value == "Stopped."
    assert list((tmp_path / "out").iterdir()) == []


def test_export_writes_a_bioimageio_package(predict_widget, qtbot, tmp_path):
    pytest.importorskip(
        "bioimageio.spec", reason="bioimage.io export needs: pip install 'napari-noise2same[bioimageio]'"
    )
    import zipfile

    viewer, widget = predict_widget
    widget.use_model(random_model())
    widget.export(tmp_path / "model.zip")
    assert not widget.denoise_button.enabled and not widget.export_button.enabled
    qtbot.waitUntil(lambda: widget.export_button.enabled, timeout=60_000)
    assert widget.status.value == f"Exported {tmp_path / 'model.zip'} (bioimage.io model format 0.5.3)."
    with zipfile.ZipFile(tmp_path / "model.zip") as z:
        assert "format_version: 0.5.3" in z.read("rdf.yaml").decode()


def test_the_posterior_estimate_from_the_widget(predict_widget, qtbot):
    """A model with a spread head: "posterior mean" gives the posterior's layer, and test-time
    augmentation (for the network's output only) is switched off with it."""
    from napari_noise2same.engine.posterior import posterior
    from napari_noise2same.engine.spread import SpreadHead

    viewer, widget = predict_widget
    model = random_model()
    model.spread = SpreadHead.for_net(model.net).eval()
    widget.use_model(model)
    assert "estimate: the network's output" in widget.model_info.value
    image = np.random.default_rng(0).random((48, 48)).astype(np.float32)
    layer = viewer.add_image(image, name="p")
    widget.reset_choices()
    widget.layers.value = [layer]
    widget.tta.value = True
    widget.estimate.value = "posterior"
    assert not widget.tta.value and not widget.tta.enabled and widget.options.estimate == "posterior"
    widget.denoise_button.clicked.emit()
    qtbot.waitUntil(lambda: "p_denoised" in viewer.layers, timeout=20_000)
    np.testing.assert_allclose(viewer.layers["p_denoised"].data, posterior(model, image, "YX").mean, atol=1e-5)
    widget.estimate.value = "n2s"
    assert widget.tta.enabled
