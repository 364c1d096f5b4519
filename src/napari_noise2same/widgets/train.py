"""The "Train Noise2Same" widget: pick layers or a folder, train in the background, watch it learn."""

from __future__ import annotations

import contextlib
import re
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import napari
from magicgui.widgets import Container, Label, LineEdit, ProgressBar, PushButton
from napari.utils.notifications import show_info, show_warning
from qtpy.QtCore import QObject, Signal
from qtpy.QtWidgets import QSizePolicy
from superqt.utils import create_worker  # not napari's: it keeps every worker (and its data) for the life of the window

from ..engine.config import Budget
from ..engine.data import fit_patch
from ..errors import Noise2SameError
from ..text import number
from . import heap
from .errors import report
from .layers import (
    current_slice,
    layer_array,
    layer_axes,
    layer_pixel_size,
    result_kwargs,
    set_or_add,
)
from .lifetime import on_closed
from .loss_plot import LossPlot
from .predict_job import denoise_layer_worker
from .preview import LivePreview, denoise_plane
from .quality_panel import QualityPanel
from .session import SESSION
from .train_inputs import Inputs, TrainInputs
from .train_results import TrainResults
from .train_settings import TrainSettings
from .warmup import TorchWarmup

if TYPE_CHECKING:
    from ..engine.model import Noise2SameModel
    from ..engine.trainer import Trainer

PREVIEW_EVERY_S = 3.0
UPDATE_EVERY_S = 0.5  # progress, status and loss plot
CHECKPOINT_MINUTES = 5.0
CHECKPOINT_FOLDER = Path(tempfile.gettempdir()) / "napari-noise2same-checkpoints"
D_MEANING = "how much a pixel's output follows that pixel's own noise (0 = blind spot)."
D_EXPLAINED = (
    "D(f) is how much the output at a pixel changes when that pixel alone is replaced by noise: "
    "0 for a blind-spot network; Noise2Same may use each pixel a little."
)


class _Bridge(QObject):
    """Carries events from the training thread to the GUI thread (queued connections)."""

    event = Signal(object)
    preview = Signal(object)
    started = Signal(object)  # the trainer, once its settings are final
    ready = Signal(object)  # the devices, once torch has loaded in the background


@dataclass
class _Key:
    """What a model is bound to: changing any of these starts a new model."""

    images: tuple  # the layers (id, shape, axes) or the folder's files
    dims: int
    preset: str
    channel_mode: str


class TrainWidget(TrainInputs, TrainSettings, TrainResults, Container):
    def __init__(self, viewer: napari.viewer.Viewer):
        super().__init__(labels=False)
        self.viewer = viewer
        self.axes = LineEdit(label="axes")
        self._build_inputs()
        self._build_settings()
        self.train_button = PushButton(text="Train")
        self.stop_button = PushButton(text="Stop", enabled=False)
        self.save_button = PushButton(text="Save model…", enabled=False)
        self.weights_button = PushButton(
            text="Load weights…", tooltip="fine-tune a saved model (.n2s) on the chosen images"
        )
        self.compare_button = PushButton(text="Side by side", enabled=False)
        self.residual_button = PushButton(text="Residual", enabled=False)
        self.progress = ProgressBar(value=0, max=1000)
        self.status = Label(value="Pick one or more image layers (or a folder) and press Train.")
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
        self._key: _Key | None = None
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
        self._bridge = _Bridge()
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
        """The background warm-up has loaded torch: offer the devices, show auto's choice, and add
        the preview layer of a training started before."""
        if not self._alive:
            return
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

    # -- training ---------------------------------------------------------------------------
    def start_training(self) -> None:
        # the click's work first: torch's imports in the background wait (widgets/warmup.py)
        with self._warmup.gui_first():
            self._start_training()

    def _start_training(self) -> None:
        if self.busy:
            return
        try:
            inputs = self._gather()
            config = self._config()
        except (Noise2SameError, ValueError) as e:
            report(e, "Training")
            return
        key = _Key(inputs.key, config.dims, config.preset, config.channel_mode)
        if self.trainer is not None and self._key != key:
            changed = [
                {"images": "images or their axes", "channel_mode": "channel mode"}.get(n, n)
                for n in ("images", "dims", "preset", "channel_mode")
                if getattr(self._key, n) != getattr(key, n)
            ]
            show_info(f"Starting a new model: the {', '.join(changed)} changed since the last training.")
            self.trainer, self.loss_history = None, []
        elif self.trainer is not None:
            # loss, optimiser, batch, patch and device may change between runs of the same model
            try:
                self.trainer.reconfigure(config, device=self.device.value, budget=self.budget)
            except ValueError as e:
                report(e, "Training")
                return
        self._key, self._inputs = key, inputs
        preview = self._preview_layer()
        self._source_layer = next((la for la in inputs.layers if preview is not None and la.name == preview.name), None)
        self._preview_axes = self._axes_of(self._source_layer) if self._source_layer is not None else ""
        self._update_preview_index()
        self._preview_added.clear()
        if self._warmup.done:
            self._add_preview()
        # else once torch has loaded (_torch_ready): adding a layer while the warm-up imports is slow
        budget = self.budget
        self._budget = (budget.steps, budget.seconds)
        self._set_running(True, "Reading the files…" if self.folder_mode else "Preparing the data…")
        self._worker = create_worker(
            self._train_job,
            inputs,
            config,
            self.device.value,
            budget,
            _start_thread=False,
            _ignore_errors=True,
        )
        self._worker.returned.connect(self._training_done)
        self._worker.errored.connect(lambda e: self._failed(e, "Training"))
        self._worker.start()

    def _train_job(self, inputs: Inputs, config, device, budget):
        """Runs in the worker thread."""
        # first the warm-up's imports, then the preview layer (main thread): each alone, since
        # threads taking turns for the GIL made napari's 80 ms of adding a layer 170-440 ms
        self._warmup.join()
        self._preview_added.wait(timeout=10)
        from ..engine import Trainer, TrainingData
        from ..engine.trainer import Checkpoint

        if self.trainer is None:
            inputs.load()
            training = TrainingData.from_arrays(
                inputs.arrays,
                inputs.axes,
                dims=config.dims,
                patch_size=config.patch_size,
                val_fraction=config.val_fraction,
                names=inputs.names,
                val_arrays=inputs.val_arrays,
                val_axes=inputs.val_axes,
                val_names=inputs.val_names,
            )
            axes = inputs.axes[0]
            self.trainer = Trainer(training, config, axes=axes, device=device, model=self.start_model, budget=budget)
        trainer = self.trainer
        self._bridge.started.emit(trainer)
        self._last_preview = time.monotonic()
        layer, preview_axes = self._source_layer, self._preview_axes
        data = layer_array(layer) if layer is not None else None

        def on_event(event):
            self._bridge.event.emit(event)
            if data is not None and time.monotonic() - self._last_preview >= PREVIEW_EVERY_S:
                self._last_preview = time.monotonic()
                index = self._preview_index
                if index is not None:
                    self._bridge.preview.emit((index, denoise_plane(trainer, data, preview_axes, index)))

        CHECKPOINT_FOLDER.mkdir(parents=True, exist_ok=True)
        name = layer.name if layer is not None else (inputs.files[0].parent.name if inputs.files else "model")
        checkpoint = Checkpoint(CHECKPOINT_FOLDER / f"{_file_name(name)}.n2s", CHECKPOINT_MINUTES * 60)
        trainer.train(max_steps=budget.steps, max_seconds=budget.seconds, on_event=on_event, checkpoint=checkpoint)
        model = trainer.to_model()
        if inputs.layers:
            model.set_pixel_size(*layer_pixel_size(inputs.layers[0], inputs.axes[0]))
        elif inputs.pixel_size is not None:
            model.set_pixel_size(*inputs.pixel_size)
        return model

    def _on_event(self, event) -> None:
        """Per step; the window is redrawn at most every UPDATE_EVERY_S (each redraw recomposes it)."""
        if not self._alive:
            return
        self.loss_history = self.trainer.history if self.trainer is not None else []
        if event.note:
            show_info(f"Noise2Same, step {event.step}: {event.note}")
        now = time.monotonic()
        if now - self._last_update < UPDATE_EVERY_S:
            return
        self._last_update = now
        steps, seconds = self._budget
        done = event.elapsed_s / seconds
        if event.target_step and steps:
            done = max(done, 1 - (event.target_step - event.step) / steps)
        if event.finishing and event.eta_s is not None:  # the run was shortened: progress towards its new end
            done = event.elapsed_s / max(event.elapsed_s + event.eta_s, 1e-9)
        self.progress.value = int(1000 * min(1.0, done))
        eta = "" if event.eta_s is None else f" · {event.eta_s:.0f} s left"
        done_note = " · learning has levelled off: finishing" if event.finishing else ""
        self.status.value = (
            f"step {event.step} · {event.steps_per_s:.1f} steps/s{eta}{done_note}\n"
            f"{self._training_words()}\n"
            f"loss {event.loss:.4f} = reconstruction {event.reconstruction:.4f} "
            f"+ λ × invariance {event.invariance:.4f}"
        )
        self.loss_plot.set_history(self.loss_history)

    def _training_words(self) -> str:
        """On what the model trains and which layer the preview shows, in words."""
        inputs = self._inputs
        if inputs is None:
            return ""
        if inputs.files:
            return f"on {inputs.describe()} · no live preview (nothing is added to the viewer)"
        preview = f" · preview: {self._source_layer.name}" if self._live.name else " · no preview (too large)"
        return f"on {inputs.describe()}{preview}"

    def _on_started(self, trainer) -> None:
        """Training has begun: show what auto chose, and where checkpoints go."""
        if not self._alive:
            return
        c = trainer.config
        self._show_choice(c, trainer.data.patch_size, trainer.auto, "auto chose: ")
        inputs = self._inputs
        if inputs is not None and inputs.val_names:
            self.loss_plot.set_validation_label(f"validation: {Path(inputs.val_names[0]).name}")
        else:
            held_out = bool(trainer.data.val_regions)
            self.loss_plot.set_validation_label("validation (held-out strips)" if held_out else "no validation")
        self.auto_choice.tooltip = (
            (self.auto_choice.tooltip or "") + f"\nA checkpoint is saved every "
            f"{CHECKPOINT_MINUTES:g} minutes to {CHECKPOINT_FOLDER}"
        ).strip()
        for warning in trainer.warnings:
            show_warning(f"Noise2Same: {warning[0].upper()}{warning[1:]}.")

    def _on_preview(self, payload) -> None:
        if self._alive:
            self._live.show(*payload)

    def _training_done(self, model: Noise2SameModel) -> None:
        if not self._alive:
            return
        self.model = model
        self.loss_history = self.trainer.history
        self.loss_plot.set_history(self.loss_history)
        inputs = self._inputs
        SESSION.add(self._source_layer.name if self._source_layer is not None else inputs.files[0].parent.name, model)
        s = model.summary
        self.result.value = (
            f"{s['steps']} steps · loss {s['final_loss']:.3f} (reconstruction "
            f"{s['final_reconstruction']:.3f}, invariance {s['final_invariance']:.3f}, "
            f"λ {s['lambda_inv']:.2g}) · validation {number(s.get('final_val_loss'))}\n"
            f"J-invariance D(f) = {number(s.get('invariance_D'))}: {D_MEANING}"
        )
        self.result.tooltip = D_EXPLAINED
        self.save_button.enabled = True
        if inputs.files:  # a folder: the user applies the model (Save, or the Denoise widget)
            self._set_running(
                False,
                f"Done: trained on {inputs.describe()}. Save the model, or denoise files or layers with "
                "'Denoise with Noise2Same' (the model is in its list).",
                finished=True,
            )
            return
        # the previewed layer first: its result replaces the preview the user is looking at
        pairs = list(zip(inputs.layers, inputs.axes, strict=True))
        self._denoise_queue = sorted(pairs, key=lambda item: item[0] is not self._source_layer)
        self._denoise_total = len(self._denoise_queue)
        self._denoise_next()

    def _denoise_next(self) -> None:
        """Denoise the next trained-on layer into its ``<name>_denoised``."""
        layer, axes = self._denoise_queue[0]
        done = self._denoise_total - len(self._denoise_queue)
        counted = f" {done + 1} of {self._denoise_total}" if self._denoise_total > 1 else ""
        self.status.value = f"Denoising{counted}: {layer.name}…"
        self._predict_worker = denoise_layer_worker(self.model, layer, axes, self._predict_progress)
        self._predict_worker.returned.connect(self._denoised)
        self._predict_worker.errored.connect(lambda e: self._failed(e, "Denoising"))
        self._predict_worker.start()

    def _failed(self, error: BaseException, action: str) -> None:
        """A worker failed or was stopped: say why, drop the half-made preview, keep the model."""
        report(error, action)
        if not self._alive:
            return
        self._live.drop()
        stopped = isinstance(error, InterruptedError)
        self._set_running(
            False,
            f"{action} {'stopped' if stopped else 'failed'}."
            + (" Train again to continue from the weights." if self.trainer is not None else ""),
        )

    def _predict_progress(self, done: int, total: int) -> None:
        """Progress over all the layers to denoise, each counted as one."""
        if not self._alive:
            return
        images = max(self._denoise_total, 1)
        finished = images - len(self._denoise_queue)
        self.progress.value = int(1000 * (finished + done / max(total, 1)) / images)

    def _denoised(self, denoised) -> None:
        if not self._alive:
            return
        layer, _ = self._denoise_queue.pop(0)
        if layer is self._source_layer:
            self._live.finish(layer, denoised)
            self.compare_button.enabled = self.residual_button.enabled = True
        else:
            set_or_add(self.viewer, denoised, result_kwargs(layer, f"{layer.name}_denoised"))
        if self._denoise_queue:
            self._denoise_next()
            return
        names = [f"{layer.name}_denoised" for layer in self._inputs.layers]
        added = names[0] if len(names) == 1 else f"{len(names)} layers ({', '.join(names)})"
        self._set_running(False, f"Done: added {added}. Train again to continue from these weights.", finished=True)

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
        self.train_button.enabled = not running
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


def _file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "model"
