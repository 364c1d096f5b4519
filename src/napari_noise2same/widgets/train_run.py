"""The training widget's run: Train starts a background worker that trains the model, and its
events (steps, previews, the chosen settings) come back to the GUI thread (mixed into the widget;
the widget holds the trainer, the layers and the form)."""

from __future__ import annotations

import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from napari.utils.notifications import show_info, show_warning
from qtpy.QtCore import QObject, Signal
from superqt.utils import create_worker  # not napari's: it keeps every worker (and its data) for the life of the window

from ..errors import Noise2SameError
from .errors import report
from .layers import layer_array, layer_pixel_size
from .preview import denoise_plane
from .train_inputs import Inputs

PREVIEW_EVERY_S = 3.0
UPDATE_EVERY_S = 0.5  # progress, status and loss plot
CHECKPOINT_MINUTES = 5.0
CHECKPOINT_FOLDER = Path(tempfile.gettempdir()) / "napari-noise2same-checkpoints"


class Bridge(QObject):
    """Carries events from the training thread to the GUI thread (queued connections)."""

    event = Signal(object)
    preview = Signal(object)
    started = Signal(object)  # the trainer, once its settings are final
    ready = Signal(object)  # the devices, once torch has loaded in the background


@dataclass
class ModelKey:
    """What a model is bound to: changing any of these starts a new model."""

    images: tuple  # the layers (id, shape, axes) or the folder's files
    dims: int
    preset: str
    channel_mode: str


class TrainRun:
    """Train: gather the inputs and settings, train in a worker thread, show its progress."""

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
        key = ModelKey(inputs.key, config.dims, config.preset, config.channel_mode)
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
        if not self._alive:  # the widget was closed: nobody takes the model (and its summary takes seconds)
            return None
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
        masked = trainer.struct_mask_record
        if trainer.struct_mask is not None:
            self.auto_choice.value += f", structured mask {masked['struct_mask'].replace('x', '×')}"
        self.auto_choice.tooltip = (
            (self.auto_choice.tooltip or "") + f"\nStructured mask: {masked['reason']}\nA checkpoint is saved every "
            f"{CHECKPOINT_MINUTES:g} minutes to {CHECKPOINT_FOLDER}"
        ).strip()
        for warning in trainer.warnings:
            show_warning(f"Noise2Same: {warning[0].upper()}{warning[1:]}.")

    def _on_preview(self, payload) -> None:
        if self._alive:
            self._live.show(*payload)

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


def _file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "model"
