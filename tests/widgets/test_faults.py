"""Stopping, closing, running out of memory and failing mid-save: nothing is lost or left half-done."""

import time

import numpy as np
import pytest
import torch

import napari_noise2same.widgets.train_results as train_results
import napari_noise2same.widgets.train_run as train_run
from napari_noise2same.engine import PredictOptions, Trainer
from napari_noise2same.widgets.errors import message_for

PLUGIN = "napari-noise2same"


@pytest.fixture
def widget(make_napari_viewer, noisy_pair, monkeypatch):
    viewer = make_napari_viewer()
    layer = viewer.add_image(noisy_pair[0], name="cells")
    _, w = viewer.window.add_plugin_dock_widget(PLUGIN, "Train Noise2Same")
    w.preset.value, w.patch_size.value, w.batch_size.value, w.seed.value = "tiny", 32, 4, 0
    messages = []
    for module in (train_run, train_results):  # the widget's reports (training, and saving or loading)
        monkeypatch.setattr(module, "report", lambda e, action: messages.append(message_for(e, action)))
    return viewer, w, layer, messages


def test_out_of_memory_names_the_fix_and_training_can_be_retried(widget, qtbot, monkeypatch):
    viewer, w, layer, messages = widget
    real_step = Trainer._train_step

    def failing_step(self):
        if self.batch_size > 2:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_step(self)

    monkeypatch.setattr(Trainer, "_train_step", failing_step)
    w.max_steps.value = 3
    w.train_button.clicked.emit()
    qtbot.waitUntil(lambda: bool(messages) and not w.busy, timeout=20_000)
    assert "out of memory" in messages[0] and "batch size" in messages[0]
    assert w.train_button.enabled and "cells_denoised" not in viewer.layers
    w.batch_size.value = 2  # the fix the message names
    w.train_button.clicked.emit()
    qtbot.waitUntil(lambda: not w.busy and "cells_denoised" in viewer.layers, timeout=30_000)
    assert w.trainer.step == 3


def test_stop_during_the_final_denoising_keeps_the_model(widget, qtbot, monkeypatch):
    viewer, w, layer, messages = widget
    from napari_noise2same.engine.torch_runner import TorchRunner

    slow_run = TorchRunner.__call__
    calls = []

    def slow(*args, **kwargs):
        calls.append(1)
        time.sleep(0.2)
        return slow_run(*args, **kwargs)

    monkeypatch.setattr(TorchRunner, "__call__", slow)
    monkeypatch.setattr(train_results, "denoise_layer_worker", _tiled(train_results.denoise_layer_worker))
    w.max_steps.value = 2
    w.train_button.clicked.emit()
    qtbot.waitUntil(
        lambda: w.model is not None and w._predict_worker is not None and w._predict_worker.is_running, timeout=20_000
    )
    at_click = len(calls)
    w.stop_button.clicked.emit()
    qtbot.waitUntil(lambda: not w.busy, timeout=5000)
    # acted on at the next tile (counted, not timed: a loaded machine only makes tiles slower)
    assert len(calls) <= at_click + 2
    assert "cells_denoised" not in viewer.layers and "cells_preview" not in viewer.layers
    assert w.model is not None and w.save_button.enabled  # the trained model is kept
    assert not any("failed" in m for m in messages)


def _tiled(make_worker):
    """Force small tiles, so the final denoising takes several tiles."""
    return lambda model, layer, axes, on_progress, **kw: make_worker(
        model, layer, axes, on_progress, PredictOptions(tile_size=32, overlap=8)
    )


def test_closing_the_widget_stops_training(widget, qtbot):
    viewer, w, layer, messages = widget
    w.max_minutes.value = 5
    w.train_button.clicked.emit()
    qtbot.waitUntil(lambda: w.trainer is not None and w.trainer.step >= 2, timeout=20_000)
    worker, trainer = w._worker, w.trainer
    viewer.window.remove_dock_widget(w.native)  # what the dock's close button does
    qtbot.waitUntil(lambda: not worker.is_running, timeout=5000)
    assert trainer.stop_requested


def test_a_failing_save_leaves_no_file(widget, qtbot, tmp_path, monkeypatch):
    viewer, w, layer, messages = widget
    w.max_steps.value = 2
    w.train_button.clicked.emit()
    qtbot.waitUntil(lambda: not w.busy and w.model is not None, timeout=20_000)
    import napari_noise2same.engine.model_file as model_file

    def broken_zip(f, *parts):
        f.write(b"PK half a zip")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(model_file, "_write_zip", broken_zip)
    w.save_model(tmp_path / "model.n2s")
    assert messages and "Saving" in messages[-1]
    assert list(tmp_path.iterdir()) == []  # neither the model nor a temporary file
    monkeypatch.undo()
    w.save_model(tmp_path / "model.n2s")
    assert [p.name for p in tmp_path.iterdir()] == ["model.n2s"]


@pytest.mark.parametrize(
    "data, axes, expected",
    [
        (np.full((48, 48), np.nan, np.float32), "YX", "NaN"),
        (np.random.default_rng(0).random((48, 48)).astype(np.float32), "ZYX", "axes"),
        (np.random.default_rng(0).random((48, 48)).astype(np.float32), "YY", "repeat"),
        (np.random.default_rng(0).random((48, 48)).astype(np.float32), "QX", "letters"),
    ],
)
def test_bad_layer_or_axes_is_one_notification(widget, qtbot, data, axes, expected):
    viewer, w, layer, messages = widget
    layer.data = data
    w.axes.value = axes
    w.max_steps.value = 2
    w.train_button.clicked.emit()
    qtbot.waitUntil(lambda: bool(messages) and not w.busy, timeout=20_000)
    assert expected in messages[0] and "Traceback" not in messages[0]
    assert w.train_button.enabled and "cells_denoised" not in viewer.layers and "cells_preview" not in viewer.layers
