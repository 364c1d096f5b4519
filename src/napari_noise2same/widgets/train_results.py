"""What the training widget offers around a model: save it, compare and check the result, and
start from saved weights (mixed into the widget; the widget holds the model and the layers)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from napari.utils.notifications import show_info, show_warning

from ..errors import Noise2SameError
from .dialogs import MODEL_FILTER, ask_open, ask_save
from .errors import report
from .layers import add_residual, toggle_side_by_side

if TYPE_CHECKING:
    from ..engine.model import Noise2SameModel


class TrainResults:
    """Save, Side by side, Residual, Quality's source, Load weights / Forget weights."""

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
