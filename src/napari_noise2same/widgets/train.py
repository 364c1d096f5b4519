"""The "Train Noise2Same" widget: pick layers or a folder, train in the background, watch it learn."""

from __future__ import annotations

import contextlib
import threading
from dataclasses import replace
from typing import TYPE_CHECKING

import napari
from magicgui.widgets import Container, Label, LineEdit, ProgressBar, PushButton
from qtpy.QtWidgets import QSizePolicy

from ..engine.config import Budget
from ..engine.data import fit_patch
from ..errors import Noise2SameError
from . import heap
from .layers import current_slice, layer_axes
from .lifetime import on_closed
from .loss_plot import LossPlot
from .preview import LivePreview
from .quality_panel import QualityPanel
from .train_inputs import Inputs, TrainInputs
from .train_results import TrainResults
from .train_run import Bridge, ModelKey, TrainRun
from .train_settings import TrainSettings
from .warmup import TorchWarmup

READY_TEXT = "Pick one or more image layers (or a folder) and press Train."
LOADING_TEXT = "Loading PyTorch (a few seconds, once per session); Train is enabled then."

if TYPE_CHECKING:
    from ..engine.model import Noise2SameModel
    from ..engine.trainer import Trainer


class TrainWidget(TrainInputs, TrainSettings, TrainRun, TrainResults, Container):
    def __init__(self, viewer: napari.viewer.Viewer):
        super().__init__(labels=False)
        self.viewer = viewer
        self.axes = LineEdit(label="axes")
        self._build_inputs()
        self._build_settings()
        # Train waits for torch, which loads in the background (widgets/warmup.py): its imports hold
        # Python's GIL for up to 0.3 s at a time, so a run started meanwhile would stall the window
        # right after the click; training could not begin before torch has loaded anyway
        self.train_button = PushButton(text="Train", enabled=False)
        self.stop_button = PushButton(text="Stop", enabled=False)
        self.save_button = PushButton(text="Save model…", enabled=False)
        self.weights_button = PushButton(
            text="Load weights…", tooltip="fine-tune a saved model (.n2s) on the chosen images"
        )
        self.compare_button = PushButton(text="Side by side", enabled=False)
        self.residual_button = PushButton(text="Residual", enabled=False)
        self.progress = ProgressBar(value=0, max=1000)
        self.status = Label(value=LOADING_TEXT)
        self.result = Label(value="")
        self.loss_plot = LossPlot()
        form = Container(labels=True)
        form.extend(
            [
                self.source,
                self.layers,
                self.folder,
                self.axes,
                self.validation,
                self.validation_file,
                self.dims,
                self.mask_percent,
                self.mask_auto,
                self.lambda_inv,
                self.lambda_auto,
                self.patch_size,
                self.batch_size,
                self.batch_auto,
                self.max_minutes,
                self.max_steps,
                self.preset,
                self.device,
            ]
        )
        self.extend(
            [
                form,
                self.auto_choice,
                self.stop_when_done,
                self.show_advanced,
                self.advanced,
                Container(
                    widgets=[self.train_button, self.stop_button, self.save_button, self.weights_button],
                    layout="horizontal",
                    labels=False,
                ),
                self.progress,
                self.status,
            ]
        )
        self.native.layout().addWidget(self.loss_plot)
        self.quality = QualityPanel(viewer, self._quality_source)
        self.extend(
            [
                self.result,
                Container(widgets=[self.compare_button, self.residual_button], layout="horizontal", labels=False),
                self.quality,
            ]
        )
        for label, lines in ((self.status, 2), (self.result, 3), (self.auto_choice, 1)):
            label.native.setWordWrap(True)
            label.native.setMinimumHeight(lines * label.native.fontMetrics().lineSpacing() + 4)
            label.native.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Minimum)
        self.native.setMaximumWidth(460)

        self.trainer: Trainer | None = None
        self.model: Noise2SameModel | None = None
        self.start_model: Noise2SameModel | None = None  # loaded weights the next new model starts from
        self.loss_history: list[dict] = []
        self._key: ModelKey | None = None
        self._worker = None
        self._predict_worker = None
        self._running = False  # from Train until the denoised layer is added (or a failure)
        self._alive = True  # False once the widget is closed: late signals are ignored
        self._source_layer = None  # the layer previewed (and compared, checked) of those trained on
        self._inputs: Inputs | None = None  # what the model in progress trains on
        self._denoise_queue: list = []  # the layers still to denoise after training
        self._denoise_total = 0
        self._preview_index: tuple | None = None
        self._preview_axes = ""
        self._live = LivePreview(viewer)
        self._preview_added = threading.Event()  # the worker's first step waits for the preview layer
        self._last_update = self._last_preview = 0.0
        self._budget = (None, 1.0)  # (steps, seconds) of the run in progress
        self._bridge = Bridge()
        self._bridge.event.connect(self._on_event)
        self._bridge.preview.connect(self._on_preview)
        self._bridge.started.connect(self._on_started)

        self.layers.changed.connect(self._layer_changed)
        self.source.changed.connect(self._show_auto_choice)
        viewer.layers.events.inserted.connect(self._choose_a_layer)
        self.dims.changed.connect(self._update_preview_index)
        self._showing_auto = False  # True while the form displays auto's values (not the user typing)
        self._connect_auto_fields(self._show_auto_choice)
        for w in (
            self.device,
            self.dims,
            self.preset,
            self.patch_size,
            self.max_minutes,
            self.max_steps,
        ):
            w.changed.connect(self._show_auto_choice)
        self.show_advanced.changed.connect(lambda v: setattr(self.advanced, "visible", v))
        self.lambda_auto.changed.connect(lambda v: setattr(self.lambda_inv, "enabled", not v))
        self.train_button.changed.connect(self.start_training)
        self.stop_button.changed.connect(self.stop)
        self.save_button.changed.connect(self._save_dialog)
        self.weights_button.changed.connect(self._weights_clicked)
        self.compare_button.changed.connect(self.toggle_compare)
        self.residual_button.changed.connect(self.add_residual)
        viewer.dims.events.current_step.connect(self._update_preview_index)
        on_closed(self.native, self._shutdown)
        # torch loads in the background (widgets/warmup.py): the window stays responsive, and the
        # device list and auto's choice appear when it is ready
        self._warmup = TorchWarmup(self._bridge.ready.emit)
        self._heap = heap.Watch(viewer)  # a removed layer gives the frozen heap back (widgets/heap.py)
        self._bridge.ready.connect(self._torch_ready)
        self._source_changed(self.source.value)
        self._choose_a_layer()
        self._layer_changed()
        self._warmup.start_soon()  # once Qt has drawn the dock

    # -- settings ---------------------------------------------------------------------------
    def _layer_changed(self, *_) -> None:
        layer = self.layer.value
        if layer is None:
            return
        self.axes.value = layer_axes(layer)
        self.dims.value = (
            3 if "Z" in self.axes.value and layer.data.ndim >= 3 and self.dims.value == 3 else self.dims.value
        )
        self._update_preview_index()
        self._show_auto_choice()

    @property
    def budget(self) -> Budget:
        return Budget(self.max_steps.value or None, self.max_minutes.value * 60)

    def _torch_ready(self, devices) -> None:
        """The background warm-up has loaded torch: Train is ready, the devices are offered, auto's
        choice is shown, and the preview layer of a training started before is added."""
        if not self._alive:
            return
        self.train_button.enabled = not self.busy
        if self.status.value == LOADING_TEXT:
            self.status.value = READY_TEXT
        if self.busy and not self._preview_added.is_set():
            self._add_preview()
        self.set_devices(devices)
        self._show_auto_choice()

    def _add_preview(self) -> None:
        """The layer the live preview draws into (if any), then training may begin."""
        if self._source_layer is not None:
            self._live.prepare(self._source_layer)
        self._preview_added.set()

    def _show_auto_choice(self, *_) -> None:
        """What auto will choose for the settings as they are (a value the user typed wins)."""
        if self.busy:
            return
        if self.folder_mode:
            self.auto_choice.value = "auto: the network and batch are chosen when training starts (files are read then)"
            return
        if self.layer.value is None:
            self.auto_choice.value = ""
            return
        if not self._warmup.done:
            self.auto_choice.value = "auto: choosing the network and batch once PyTorch has loaded…"
            return
        from ..engine.auto import choose
        from ..engine.devices import resolve_device

        try:
            config = self._config()
            if self.trainer is not None and self._key is not None and self._key.preset == config.preset:
                config = replace(config, preset=self.trainer.config.preset)  # Train continues this network
            inputs = self._gather()
            shapes = [_data_shape(a, ax, config.dims) for a, ax in zip(inputs.arrays, inputs.axes, strict=True)]
            patch = fit_patch(config.patch_size, config.dims, [spatial for spatial, _ in shapes])
            channels = shapes[0][1]
            chosen, record = choose(config, patch, channels, resolve_device(self.device.value), self.budget)
        except Noise2SameError as e:  # a setting out of range: Train will say so
            self.auto_choice.value = f"⚠ {e}"
            return
        self._show_choice(chosen, patch, record, "auto: ")

    def _update_preview_index(self, *_) -> None:
        layer = self._preview_layer()
        if layer is not None:
            with contextlib.suppress(Noise2SameError, ValueError, IndexError):  # axes being edited: keep the last
                self._preview_index = current_slice(
                    layer, self._axes_of(layer), self.dims.value, self.viewer.dims.current_step
                )

    def _preview_layer(self):
        """The layer the live preview shows: the active one if it is trained on, else the first."""
        if self.busy and self._source_layer is not None:
            return self._source_layer
        if self.folder_mode:
            return None
        chosen = list(self.layers.value or [])
        active = self.viewer.layers.selection.active  # napari hands plugins proxies: compare by name
        named = [layer for layer in chosen if active is not None and layer.name == active.name]
        return named[0] if named else (chosen[0] if chosen else None)

    def _axes_of(self, layer) -> str:
        first = self.layer.value
        typed = self.axes.value.strip().upper()
        return self._layer_axes(layer, typed, first.data.ndim) if first is not None else typed

    # -- controls ---------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._running

    def stop(self) -> None:
        """Stop training within a step (the weights are kept) or stop the final denoising."""
        if self.trainer is not None:
            self.trainer.request_stop()
        if self._predict_worker is not None and self._predict_worker.is_running:
            self._predict_worker.quit()
        self.status.value = "Stopping…"

    def _set_running(self, running: bool, message: str, finished: bool = False) -> None:
        """``finished``: the work is done, so the bar shows 100 %; a stop or a failure hides it."""
        self._running = running
        if not self._alive:
            return
        self.train_button.enabled = not running and self._warmup.done
        self.stop_button.enabled = running
        for w in (
            self.source,
            self.layers,
            self.folder,
            self.validation,
            self.validation_file,
            self.axes,
            self.dims,
            self.preset,
            self.device,
            self.channel_mode,
            self.patch_size,
            self.batch_size,
            self.batch_auto,
            self.weights_button,
        ):
            w.enabled = not running
        if running:
            self.progress.value, self.progress.visible = 0, True
        else:
            self.progress.value = self.progress.max if finished else 0
            self.progress.visible = finished
        self.status.value = message

    def _shutdown(self, *_) -> None:
        """The widget was closed (or napari quits): stop the workers, ignore their late signals."""
        self._alive = False
        self.viewer.dims.events.current_step.disconnect(self._update_preview_index)
        if self.trainer is not None:
            self.trainer.request_stop()
        self.viewer.layers.events.inserted.disconnect(self._choose_a_layer)
        self._heap.close()
        for worker in (self._worker, self._predict_worker):
            if worker is not None and worker.is_running:
                worker.quit()


def _data_shape(array, axes: str, dims: int) -> tuple[tuple[int, ...], int]:
    """(spatial shape, channels) of a training image with ``axes``."""
    from ..engine.arrays import spatial_shape
    from ..engine.axes import make_layout

    layout = make_layout(tuple(array.shape), axes.strip().upper(), dims)
    return spatial_shape(layout), layout.channels
