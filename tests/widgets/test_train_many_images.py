"""The training widget on several layers or a folder, with a validation layer, per-channel
networks and augmentation switched off."""

import numpy as np
import pytest
import tifffile

from napari_noise2same.widgets.session import SESSION

PLUGIN = "napari-noise2same"


def _noisy(shape, seed):
    return np.random.default_rng(seed).normal(0.5, 0.1, shape).astype(np.float32)


@pytest.fixture
def widget_for(make_napari_viewer):
    def make(**layers):
        viewer = make_napari_viewer()
        added = {name: viewer.add_image(data, name=name) for name, data in layers.items()}
        _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Train Noise2Same")
        widget.preset.value = "tiny"
        widget.patch_size.value = 32
        widget.batch_size.value = 4
        widget.seed.value = 0
        widget.max_steps.value = 4
        return viewer, widget, added

    return make


def _train(qtbot, widget, timeout=60_000):
    widget.train_button.clicked.emit()
    qtbot.waitUntil(lambda: not widget.busy, timeout=timeout)


def _reports(monkeypatch):
    import napari_noise2same.widgets.train_run as train_run

    messages = []
    monkeypatch.setattr(train_run, "report", lambda e, action: messages.append(str(e)))
    return messages


def test_two_layers_of_different_shapes_train_one_model(widget_for, qtbot):
    viewer, widget, layers = widget_for(a=_noisy((64, 80), 0), b=_noisy((3, 48, 48), 1))
    assert widget.layer.value is layers["b"]  # the active (last added) layer is chosen at first
    widget.layers.value = [layers["a"], layers["b"]]
    progress = []
    widget.progress.changed.connect(progress.append)
    _train(qtbot, widget)
    assert widget.trainer.data.shapes == [(1, 1, 64, 80), (3, 1, 48, 48)]
    assert viewer.layers["a_denoised"].data.shape == (64, 80)
    assert viewer.layers["b_denoised"].data.shape == (3, 48, 48)
    assert "2 layers (a_denoised, b_denoised)" in widget.status.value
    assert widget.progress.value == widget.progress.max
    # the final denoising counts images: the bar passes the middle after the first layer
    assert any(400 <= v <= 600 for v in progress)


def _status_during_training(qtbot, widget, text):
    """Train until the status shows ``text`` (asserted), then stop."""
    widget.max_steps.value, widget.max_minutes.value = 0, 10
    widget.train_button.clicked.emit()
    try:
        qtbot.waitUntil(lambda: text in widget.status.value, timeout=30_000)
    finally:
        widget.stop()
        qtbot.waitUntil(lambda: not widget.busy, timeout=60_000)


def test_the_status_names_the_previewed_layer(widget_for, qtbot, monkeypatch):
    import napari_noise2same.widgets.train_run as train_run

    monkeypatch.setattr(train_run, "UPDATE_EVERY_S", 0.0)
    viewer, widget, layers = widget_for(a=_noisy((64, 64), 0), b=_noisy((64, 64), 1))
    widget.layers.value = [layers["a"], layers["b"]]
    viewer.layers.selection.active = layers["b"]
    _status_during_training(qtbot, widget, "on 2 layers · preview: b")
    assert widget._source_layer is layers["b"] and "b_preview" not in viewer.layers


def test_a_folder_trains_and_adds_nothing_to_the_viewer(widget_for, qtbot, tmp_path, monkeypatch):
    for i, shape in enumerate([(64, 64), (48, 72), (2, 40, 40), (56, 56)]):
        tifffile.imwrite(tmp_path / f"f{i}.tif", (_noisy(shape, i) * 1000).astype(np.uint16))
    import napari_noise2same.widgets.train_run as train_run

    monkeypatch.setattr(train_run, "UPDATE_EVERY_S", 0.0)
    viewer, widget, _ = widget_for()
    widget.source.value = "folder"
    assert not widget.folder.native.isHidden() and widget.layers.native.isHidden()
    widget.folder.value = tmp_path
    _status_during_training(qtbot, widget, "on 4 file(s) in")
    assert widget.model is not None and len(widget.model.summary["trained_on"]) == 4
    assert len(viewer.layers) == 0
    assert type(widget.trainer.data.sources[0].array).__name__ == "TiffPages"  # read patch by patch
    assert "Done: trained on 4 file(s)" in widget.status.value
    assert any(name.startswith(tmp_path.name) for name in SESSION.names())


def test_mismatched_channel_counts_are_one_message(widget_for, qtbot, monkeypatch):
    messages = _reports(monkeypatch)
    viewer, widget, layers = widget_for(two=_noisy((2, 64, 64), 0), three=_noisy((3, 64, 64), 1))
    widget.layers.value = [layers["two"], layers["three"]]
    widget.axes.value = "CYX"
    _train(qtbot, widget)
    assert len(messages) == 1 and "different channel counts" in messages[0] and "two 2, three 3" in messages[0]
    assert widget.train_button.enabled and "two_denoised" not in viewer.layers


def test_the_validation_layer_is_used(widget_for, qtbot, monkeypatch):
    viewer, widget, layers = widget_for(train=_noisy((64, 64), 0), check=_noisy((48, 48), 1))
    widget.layers.value = [layers["train"]]
    widget.validation.value = layers["check"]
    widget.max_steps.value = 4
    widget.advanced.visible = True
    widget.val_fraction.value = 0.2
    _train(qtbot, widget)
    data = widget.trainer.data
    assert len(data.val_sources) == 1 and data.val_sources[0].shape == (1, 1, 48, 48)
    assert data.train_regions == [(0, slice(0, 1), slice(0, 64))]  # no strip held out
    assert widget.model.summary["validated_on"] == [[1, 1, 48, 48]]
    assert widget.loss_plot.validation_label == "validation: check"
    assert "check_denoised" not in viewer.layers


def test_a_training_layer_cannot_also_validate(widget_for, qtbot, monkeypatch):
    messages = _reports(monkeypatch)
    viewer, widget, layers = widget_for(a=_noisy((64, 64), 0))
    widget.validation.value = layers["a"]
    widget.train_button.clicked.emit()
    assert messages and "both a training and the validation layer" in messages[0] and not widget.busy


def test_independent_channels_and_no_augmentation_reach_the_trainer(widget_for, qtbot):
    viewer, widget, layers = widget_for(rgb=_noisy((3, 64, 64), 0))
    widget.axes.value = "CYX"
    widget.channel_mode.value = "independent"
    widget.augment.value = False
    _train(qtbot, widget)
    assert widget.trainer.net.config.groups == 3 and widget.trainer.config.augment is False
    assert widget.model.channel_mode == "independent"
    assert viewer.layers["rgb_denoised"].data.shape == (3, 64, 64)


def test_setting_the_single_layer_still_works(widget_for, qtbot):
    viewer, widget, layers = widget_for(a=_noisy((64, 64), 0), b=_noisy((64, 64), 1))
    widget.layer.value = layers["a"]
    assert widget.layers.value == [layers["a"]]
    _train(qtbot, widget)
    assert "a_denoised" in viewer.layers and "b_denoised" not in viewer.layers
