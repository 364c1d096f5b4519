import numpy as np
import pytest

from napari_noise2same.examples import psnr
from napari_noise2same.widgets.session import SESSION

PLUGIN = "napari-noise2same"


@pytest.fixture
def train_widget(make_napari_viewer, noisy_pair):
    viewer = make_napari_viewer()
    noisy, clean = noisy_pair
    layer = viewer.add_image(noisy, name="cells", scale=(0.5, 0.25), translate=(3, 4))
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Train Noise2Same")
    widget.preset.value = "tiny"
    widget.patch_size.value = 32
    widget.batch_size.value = 8
    widget.seed.value = 0
    return viewer, widget, layer, clean


def _wait_idle(qtbot, widget, timeout=60_000):
    qtbot.waitUntil(lambda: not widget.busy, timeout=timeout)


def test_train_adds_a_better_denoised_layer(train_widget, qtbot):
    viewer, widget, layer, clean = train_widget
    assert widget.layer.value is layer and widget.axes.value == "YX"
    widget.max_steps.value = 200
    widget.train_button.clicked.emit()
    qtbot.waitUntil(lambda: widget.busy, timeout=5000)
    _wait_idle(qtbot, widget)
    assert "cells_denoised" in viewer.layers
    out = viewer.layers["cells_denoised"]
    assert out.data.shape == layer.data.shape
    np.testing.assert_allclose(out.scale, layer.scale)
    np.testing.assert_allclose(out.translate, layer.translate)
    assert psnr(clean, out.data, 1.0) > psnr(clean, layer.data, 1.0) + 3
    assert len(widget.loss_history) == 200 and {"loss", "reconstruction", "invariance"} <= set(widget.loss_history[0])
    assert "D(f)" in widget.result.value
    assert "cells_preview" not in viewer.layers
    assert any(name.startswith("cells") for name in SESSION.names())
    assert not widget.progress.native.isHidden() and widget.progress.value == widget.progress.max  # 100 %, not 0 %


def test_the_preview_layer_is_there_before_the_first_step(train_widget, qtbot):
    # the training thread waits for the preview layer before its first step (napari adding a
    # layer while that thread held the GIL took 2-5x as long), whether torch had loaded or not
    viewer, widget, layer, _ = train_widget
    widget.max_steps.value = 5
    layers_at_start = []
    widget._bridge.started.connect(lambda _: layers_at_start.append(list(viewer.layers)))
    widget.train_button.clicked.emit()
    qtbot.waitUntil(lambda: bool(layers_at_start), timeout=30_000)
    assert "cells_preview" in [la.name for la in layers_at_start[0]]
    _wait_idle(qtbot, widget)
    assert "cells_denoised" in viewer.layers and "cells_preview" not in viewer.layers


def test_stop_within_a_second_then_continue(train_widget, qtbot):
    viewer, widget, layer, _ = train_widget
    widget.max_steps.value = 0
    widget.max_minutes.value = 10
    widget.train_button.clicked.emit()
    qtbot.waitUntil(lambda: widget.trainer is not None and widget.trainer.step >= 3, timeout=20_000)
    at_click = widget.trainer.step
    widget.stop_button.clicked.emit()
    qtbot.waitUntil(lambda: not widget._worker.is_running, timeout=5000)
    # acted on within the step in progress (counted, not timed: a loaded machine only makes steps slower)
    assert widget.trainer.step <= at_click + 2
    _wait_idle(qtbot, widget)
    steps = widget.trainer.step
    assert "cells_denoised" in viewer.layers
    widget.max_steps.value = 5
    widget.train_button.clicked.emit()
    _wait_idle(qtbot, widget)
    assert widget.trainer.step == steps + 5  # continued, not restarted


def test_changed_setting_starts_a_new_model(train_widget, qtbot):
    viewer, widget, layer, _ = train_widget
    widget.max_steps.value = 3
    widget.train_button.clicked.emit()
    _wait_idle(qtbot, widget)
    first = widget.trainer
    widget.preset.value = "fast"
    widget.train_button.clicked.emit()
    _wait_idle(qtbot, widget)
    assert widget.trainer is not first and widget.trainer.step == 3


def test_compare_residual_and_save(train_widget, qtbot, tmp_path):
    viewer, widget, layer, _ = train_widget
    widget.max_steps.value = 3
    widget.train_button.clicked.emit()
    _wait_idle(qtbot, widget)
    widget.compare_button.clicked.emit()
    assert viewer.grid.enabled and layer.visible and viewer.layers["cells_denoised"].visible
    widget.compare_button.clicked.emit()
    assert not viewer.grid.enabled
    widget.residual_button.clicked.emit()
    residual = viewer.layers["cells_residual"].data
    np.testing.assert_allclose(residual, layer.data - viewer.layers["cells_denoised"].data, atol=1e-5)
    widget.save_model(tmp_path / "m.n2s")
    assert (tmp_path / "m.n2s").is_file()


def test_no_layer_is_a_notification_not_a_crash(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Train Noise2Same")
    widget.train_button.clicked.emit()
    assert not widget.busy and widget.trainer is None


def test_too_small_layer_reports_instead_of_raising(make_napari_viewer, qtbot, monkeypatch):
    import napari_noise2same.widgets.train_run as train_run

    messages = []
    monkeypatch.setattr(train_run, "report", lambda e, action: messages.append(str(e)))
    viewer = make_napari_viewer()
    viewer.add_image(np.full((16, 16), 3.0, np.float32), name="flat")
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Train Noise2Same")
    widget.max_steps.value = 2
    widget.train_button.clicked.emit()
    qtbot.waitUntil(lambda: bool(messages), timeout=10_000)
    assert "constant" in messages[0]
    assert widget.train_button.enabled


def test_closing_napari_stops_the_worker(make_napari_viewer, qtbot, noisy_pair):
    viewer = make_napari_viewer()
    viewer.add_image(noisy_pair[0], name="closing")
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Train Noise2Same")
    widget.preset.value, widget.patch_size.value, widget.batch_size.value = "tiny", 32, 4
    widget.max_minutes.value = 10
    widget.train_button.clicked.emit()
    qtbot.waitUntil(lambda: widget.trainer is not None and widget.trainer.step >= 2, timeout=20_000)
    trainer, worker = widget.trainer, widget._worker
    viewer.close()
    qtbot.waitUntil(lambda: not worker.is_running, timeout=5000)
    assert trainer.stop_requested


def test_continue_from_saved_weights(train_widget, qtbot, tmp_path):
    """Load weights: the next Train fine-tunes that model (its network and settings), not a new one."""
    from napari_noise2same.engine import load_model
    from tests.engine.helpers import random_model

    viewer, widget, layer, _ = train_widget
    saved = random_model(preset="tiny")
    saved.train_config.mask_percent, saved.train_config.lambda_inv = 1.5, 0.7
    saved.train_config.learning_rate = 3e-4
    saved.summary = {"steps": 40}
    saved.save(tmp_path / "start.n2s")
    widget.preset.value = "fast"
    widget.load_weights(tmp_path / "start.n2s")
    assert widget.preset.value == "tiny" and widget.mask_percent.value == 1.5 and widget.lambda_inv.value == 0.7
    assert not widget.mask_auto.value and not widget.lr_auto.value, "the model's own mask and rate, not auto's"
    assert (widget._config().mask_percent, widget._config().learning_rate) == (1.5, 3e-4)
    assert "continues from start.n2s" in widget.status.value and widget.weights_button.text == "Forget weights"
    widget.max_steps.value = 5
    widget.train_button.clicked.emit()
    qtbot.waitUntil(lambda: widget.busy, timeout=5000)
    _wait_idle(qtbot, widget)
    assert widget.model.summary["total_steps"] == 45 and widget.model.summary["resumed_from"]["steps"] == 40
    widget.save_model(tmp_path / "tuned.n2s")
    assert load_model(tmp_path / "tuned.n2s").summary["total_steps"] == 45
    widget.weights_button.clicked.emit()  # forget: the next Train starts a new model
    assert widget.start_model is None and widget.weights_button.text == "Load weights…"
    widget.load_weights(tmp_path / "missing.n2s")  # a bad file is reported, nothing changes
    assert widget.start_model is None


def test_the_widget_shows_autos_choices_and_a_typed_value_wins(make_napari_viewer, noisy_pair, qtbot):
    viewer = make_napari_viewer()
    viewer.add_image(noisy_pair[0], name="cells")
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Train Noise2Same")
    assert widget.preset.value == "auto" and widget.batch_auto.value and widget.stop_when_done.value
    # torch loads in the background; then the devices and auto's choice appear
    qtbot.waitUntil(lambda: "cpu" in widget.device.choices, timeout=60_000)
    assert "auto: 'tiny' network, batch 16 of 64×64 patches" in widget.auto_choice.value  # on the CPU
    assert "mask 2 %, rate 0.002" in widget.auto_choice.value  # the tiny network's
    assert widget.batch_size.value == 16 and widget.mask_percent.value == 2.0  # the form shows auto's values
    widget.batch_size.value = 6  # typed: auto is off for the batch, and the 6 is used
    assert not widget.batch_auto.value and "batch 6" in widget.auto_choice.value
    assert widget._config().batch_size == 6
    widget.batch_auto.value = True
    assert widget._config().batch_size is None and widget.batch_size.value == 16
    widget.preset.value = "fast"  # another network: the paper's mask, the default rate
    assert widget.mask_percent.value == 0.5 and widget.learning_rate.value == 1e-3
    widget.mask_percent.value = 1.0  # typed: it wins, the rate stays auto's
    assert not widget.mask_auto.value and widget.lr_auto.value
    assert (widget._config().mask_percent, widget._config().learning_rate) == (1.0, None)
    widget.preset.value = "auto"
    widget.device.value = "cpu"  # picked by the user
    viewer.add_image(noisy_pair[1], name="another")  # napari resets every dock widget's choices
    assert widget.device.choices == ("cpu",) and widget.device.value == "cpu"


def test_a_bad_value_is_reported_before_training(make_napari_viewer, noisy_pair, qtbot, monkeypatch):
    import napari_noise2same.widgets.train_run as train_run

    messages = []
    monkeypatch.setattr(train_run, "report", lambda e, action: messages.append(str(e)))
    viewer = make_napari_viewer()
    viewer.add_image(noisy_pair[0], name="cells")
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Train Noise2Same")
    widget.preset.value, widget.batch_size.value, widget.patch_size.value = "paper", 1024, 1024
    widget.train_button.clicked.emit()
    qtbot.waitUntil(lambda: bool(messages), timeout=20_000)
    assert "batch" in messages[0] and "memory" in messages[0]
    assert widget.trainer is None and widget.train_button.enabled


def test_training_writes_a_checkpoint_and_says_where(train_widget, qtbot, monkeypatch, tmp_path):
    import napari_noise2same.widgets.train_run as train_run
    from napari_noise2same.engine import load_model

    monkeypatch.setattr(train_run, "CHECKPOINT_FOLDER", tmp_path)
    monkeypatch.setattr(train_run, "CHECKPOINT_MINUTES", 0.001)
    viewer, widget, layer, _ = train_widget
    widget.max_steps.value = 6
    widget.train_button.clicked.emit()
    _wait_idle(qtbot, widget)
    saved = load_model(tmp_path / "cells.n2s")
    assert saved.summary["checkpoint"] and 1 <= saved.summary["steps"] <= 6
    assert str(tmp_path) in widget.auto_choice.tooltip


def test_quality_adds_the_uncertainty_and_residual_structure_layers(train_widget, qtbot):
    viewer, widget, layer, _ = train_widget
    widget.quality.button.clicked.emit()  # before training: a message, nothing added
    assert "cells_uncertainty" not in viewer.layers
    widget.max_steps.value = 5
    widget.train_button.clicked.emit()
    qtbot.waitUntil(lambda: widget.busy, timeout=5000)
    _wait_idle(qtbot, widget)
    widget.quality.button.clicked.emit()
    qtbot.waitUntil(lambda: "cells_residual_structure" in viewer.layers, timeout=60_000)
    uncertainty, structure = viewer.layers["cells_uncertainty"], viewer.layers["cells_residual_structure"]
    assert uncertainty.data.shape == structure.data.shape == layer.data.shape
    np.testing.assert_allclose(uncertainty.scale, layer.scale)
    assert set(np.unique(structure.data)) <= {0.0, 1.0} and (uncertainty.data >= 0).all()
    assert "noise std" in widget.quality.text.value and "D(f)" in widget.quality.text.value
    assert not widget.quality.plot.isHidden()


def test_correlated_noise_gets_a_structured_mask_and_the_widget_says_so(make_napari_viewer, qtbot, noisy_pair):
    """Noise blurred along X: auto masks a 1x3 footprint, and the line under the network says so
    (its tooltip why); a footprint chosen in the advanced settings goes into the run's settings."""
    _, clean = noisy_pair
    white = np.random.default_rng(4).normal(0, 0.15, clean.shape)
    noisy = clean + 0.5 * white + 0.25 * (np.roll(white, 1, axis=1) + np.roll(white, -1, axis=1))
    viewer = make_napari_viewer()
    viewer.add_image(noisy.astype(np.float32), name="striped")
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Train Noise2Same")
    widget.preset.value, widget.patch_size.value, widget.batch_size.value = "tiny", 32, 4
    widget.max_steps.value = 2
    assert widget.struct_mask.value == "auto" and widget._config().struct_mask == "auto"
    widget.train_button.clicked.emit()
    qtbot.waitUntil(lambda: widget.busy, timeout=5000)
    _wait_idle(qtbot, widget)
    assert widget.trainer.struct_mask == (1, 3)
    assert widget.auto_choice.value.endswith("structured mask 1×3")
    assert "Structured mask: 1x3: the noise is correlated" in widget.auto_choice.tooltip
    widget.struct_mask.value = "5x1"
    assert widget._config().struct_mask == "5x1"
