"""What the training widget does with a trained model: denoise the layers it trained on, save it,
compare and check the result, and start from saved weights (mixed into the widget; the widget
holds the model and the layers)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from napari.utils.notifications import show_info, show_warning

from ..errors import Noise2SameError
from ..text import number
from .dialogs import MODEL_FILTER, ask_open, ask_save
from .errors import report
from .layers import add_residual, result_kwargs, set_or_add, toggle_side_by_side
from .predict_job import denoise_layer_worker
from .session import SESSION

if TYPE_CHECKING:
    from ..engine.model import Noise2SameModel


D_MEANING = "how much a pixel's output follows that pixel's own noise (0 = blind spot)."
D_EXPLAINED = (
    "D(f) is how much the output at a pixel changes when that pixel alone is replaced by noise: "
    "0 for a blind-spot network; Noise2Same may use each pixel a little."
)


class TrainResults:
    """The trained-on layers denoised, Save, Side by side, Residual, Quality's source, Load
    weights / Forget weights."""

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

    def save_model(self, path) -> None:
        if self.model is None:
            show_warning("Train a model first.")
            return
        try:
            self.model.save(path)
        except (Noise2SameError, OSError) as e:
            report(e, "Saving")
            return
        show_info(f"Saved {path}")

    def _save_dialog(self) -> None:
        name = f"{self._source_layer.name if self._source_layer else 'model'}.n2s"
        path = ask_save(self.native, "Save Noise2Same model", name, ".n2s", MODEL_FILTER)
        if path:
            self.save_model(path)

    def _denoised_layer(self):
        """The ``<name>_denoised`` of the layer trained on and previewed, or None."""
        layer = self._source_layer
        if layer is None or f"{layer.name}_denoised" not in self.viewer.layers:
            return None
        return self.viewer.layers[f"{layer.name}_denoised"]

    def toggle_compare(self) -> None:
        denoised = self._denoised_layer()
        if denoised is None:
            show_warning("There is no denoised layer to compare yet: train first.")
            return
        on = toggle_side_by_side(self.viewer, self._source_layer, denoised)
        self.compare_button.text = "Back to overlay" if on else "Side by side"

    def _quality_source(self):
        """(model, noisy layer, denoised layer, axes) for the Quality button, or why not."""
        layer = self._source_layer
        if self.model is not None and layer is None and not self.busy:  # trained on a folder
            return (
                "The model was trained on a folder: denoise a layer with 'Denoise with Noise2Same' and check it there."
            )
        denoised = self._denoised_layer()
        if self.model is None or denoised is None or self.busy:
            return "Train first: the quality check looks at the denoised layer."
        return self.model, layer, denoised, self._preview_axes

    def add_residual(self) -> None:
        denoised = self._denoised_layer()
        if denoised is None:
            show_warning("There is no denoised layer yet: train first.")
            return
        add_residual(self.viewer, self._source_layer, denoised)

    # -- starting from saved weights ------------------------------------------------------------
    def _weights_clicked(self) -> None:
        if self.start_model is not None:
            self.use_weights(None)
            return
        path = ask_open(self.native, "Continue from a Noise2Same model")
        if path:
            self.load_weights(path)

    def load_weights(self, path) -> None:
        """Fine-tune: the next Train starts from this model's weights (and its network and settings)."""
        try:
            from ..engine import load_model

            self.use_weights(load_model(path), Path(path).name)
        except (Noise2SameError, OSError) as e:
            report(e, "Loading the model")

    def use_weights(self, model: Noise2SameModel | None, name: str = "") -> None:
        self.start_model, self.trainer, self.loss_history = model, None, []
        self.weights_button.text = "Forget weights" if model is not None else "Load weights…"
        if model is None:
            self.status.value = "Train starts a new model."
            return
        self._show_config(model.train_config)
        steps = model.summary.get("total_steps") or model.summary.get("steps")
        self.status.value = f"Train continues from {name} ({model.dims}D, {model.train_config.preset}, {steps} steps)."
