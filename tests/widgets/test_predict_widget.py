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
