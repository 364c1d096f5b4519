"""The "Denoise with Noise2Same model" widget: apply a saved or just-trained model to layers."""

from __future__ import annotations

from pathlib import Path

import napari
from magicgui.widgets import CheckBox, ComboBox, Container, FileEdit, Label, ProgressBar, PushButton, Select, SpinBox
from napari.utils.notifications import show_info, show_warning
from qtpy.QtCore import QObject, Signal
from superqt.utils import create_worker

from ..engine.estimate import describe as describe_estimate
from ..engine.predict_options import OVERLAP, PredictOptions
from ..errors import Noise2SameError
from ..export import export_bioimageio
from ..export.format_version import TARGET_FORMAT
from ..io import find_inputs
from . import heap
from .device_choice import DeviceChoice
from .dialogs import ask_save
from .errors import report
from .layers import layer_axes, result_kwargs, set_or_add
from .lifetime import on_closed
from .predict_job import denoise_files_worker, denoise_layer_worker
from .quality_panel import QualityPanel
from .session import SESSION
from .warmup import TorchWarmup

FROM_FILE = "model file…"
LAYERS, FOLDER = "layers", "folder"


class _Ready(QObject):
    devices = Signal(object)


class PredictWidget(Container):
    def __init__(self, viewer: napari.viewer.Viewer):
        super().__init__(labels=True)
        self.viewer = viewer
        self.source = ComboBox(label="model", choices=self._sources)
        self.model_file = FileEdit(label="file", mode="r", filter="*.n2s")
        self.model_info = Label(value="No model loaded.")
        self.model_info.native.setWordWrap(True)
        self.mode = ComboBox(
            label="denoise",
            choices=[("image layers", LAYERS), ("a folder of files", FOLDER)],
            value=LAYERS,
            tooltip="a folder: every TIFF/PNG in it, written to the output folder without loading them into the viewer",
        )
        self.layers = Select(label="images", choices=self._image_layers)
        self.input_folder = FileEdit(label="input folder", mode="d", visible=False)
        self.output_folder = FileEdit(
            label="output folder",
            mode="d",
            visible=False,
            tooltip="writes <name>_denoised.tif here, with each input's axes and pixel sizes",
        )
        self.tile_size = SpinBox(label="tile size (0: auto)", value=0, min=0, max=8192, step=64)
        self.overlap = SpinBox(label="tile overlap", value=OVERLAP, min=0, max=512, step=8)
        self.tta = CheckBox(text="test-time augmentation (8 rotations and flips)", value=False)
        self.estimate = ComboBox(
            label="estimate",
            choices=[("as the model records", "auto"), ("network output", "n2s"), ("posterior mean", "posterior")],
            value="auto",
            tooltip="posterior: each pixel's prediction from its context combined with its own value through the "
            "noise model; better on Gaussian-like noise, about 9x the time (docs/quality.md)",
        )
        self.device = DeviceChoice()
        self.denoise_button = PushButton(text="Denoise")
        self.stop_button = PushButton(text="Stop", enabled=False)
        self.export_button = PushButton(
            text="Export bioimage.io…",
            tooltip="write the model as a bioimage.io package (deepImageJ, bioimageio.core, ...)",
        )
        self.progress = ProgressBar(label="progress", value=0, max=1000)
        self.status = Label(value="")
        self.extend(
            [
                self.source,
                self.model_file,
                self.model_info,
                self.mode,
                self.layers,
                self.input_folder,
                self.output_folder,
                self.tile_size,
                self.overlap,
                self.tta,
                self.estimate,
                self.device,
                Container(
                    widgets=[self.denoise_button, self.stop_button, self.export_button],
                    layout="horizontal",
                    labels=False,
                ),
                self.progress,
                self.status,
            ]
        )
        self.quality = QualityPanel(viewer, self._quality_source, lambda: self.options)
        self.append(self.quality)
        self.native.setMaximumWidth(460)
        self.model = None
        self._worker = None
        self._queue: list = []
        self._alive = True
        self.source.changed.connect(self._source_changed)
        self.mode.changed.connect(self._mode_changed)
        self.model_file.changed.connect(lambda path: self.load(path))
        self.denoise_button.changed.connect(self.denoise)
        self.estimate.changed.connect(self._estimate_changed)
        self.stop_button.changed.connect(self.stop)
        self.export_button.changed.connect(self._export_dialog)
        SESSION.changed.connect(self._session_changed)
        on_closed(self.native, self._disconnect)
        self._source_changed(self.source.value)
        self._ready = _Ready()  # torch loads in the background (widgets/warmup.py), then the devices show
        self._ready.devices.connect(self._set_devices)
        self._warmup = TorchWarmup(self._ready.devices.emit)
        self._heap = heap.Watch(viewer)  # a removed layer gives the frozen heap back (widgets/heap.py)
        self._warmup.start_soon()  # once Qt has drawn the dock

    def _estimate_changed(self, value) -> None:
        """Test-time augmentation goes with the network's output only."""
        if value == "posterior":
            self.tta.value = False
        self.tta.enabled = value != "posterior"

    def _quality_source(self):
        """(model, noisy layer, denoised layer, axes) of the first chosen layer, or why not."""
        if self.model is None:
            return "Load or choose a model first."
        for layer in self.layers.value or []:
            name = f"{layer.name}_denoised"
            if name in self.viewer.layers:
                return self.model, layer, self.viewer.layers[name], layer_axes(layer)
        return "Denoise a layer first: the quality check looks at <layer>_denoised."

    def _set_devices(self, devices) -> None:
        if not self._alive:
            return
        self.device.set_devices(devices)

    def _sources(self, _=None) -> list[str]:
        return [FROM_FILE, *SESSION.names()]

    def _image_layers(self, _=None) -> list:
        return [layer for layer in self.viewer.layers if isinstance(layer, napari.layers.Image)]

    def _session_changed(self) -> None:
        self.source.reset_choices()
        names = SESSION.names()
        if names:
            self.source.value = names[-1]

    def _disconnect(self) -> None:
        self._alive = False
        SESSION.changed.disconnect(self._session_changed)
        self._heap.close()
        self.stop()

    def _source_changed(self, name) -> None:
        self.model_file.visible = name == FROM_FILE
        if name != FROM_FILE and SESSION.get(name) is not None:
            self.use_model(SESSION.get(name))
        elif name == FROM_FILE and self.model_file.value and Path(self.model_file.value).is_file():
            self.load(self.model_file.value)

    def _mode_changed(self, mode) -> None:
        self.layers.visible = mode == LAYERS
        self.input_folder.visible = self.output_folder.visible = mode == FOLDER

    # -- model ------------------------------------------------------------------------------
    def use_model(self, model) -> None:
        self.model = model
        s, t = model.summary, model.train_config
        self.model_info.value = (
            f"{model.dims}D, {model.channels} channel(s), trained on axes {model.axes} "
            f"({t.preset} network, {s.get('steps', '?')} steps, {s.get('date', '?')[:16].replace('T', ' ')}); "
            f"estimate: {describe_estimate(s.get('estimate'))}"
        )

    def load(self, path) -> None:
        path = Path(path)
        if not path.is_file():
            return
        try:
            from ..engine.model import load_model

            self.use_model(load_model(path))
        except (Noise2SameError, OSError) as e:
            self.model = None
            self.model_info.value = "No model loaded."
            report(e, "Loading the model")

    # -- prediction -------------------------------------------------------------------------
    def denoise(self) -> None:
        if self._worker is not None and self._worker.is_running:
            return
        if self.model is None:
            show_warning("Load a model file (.n2s) or train one with the Train Noise2Same widget first.")
            return
        if self.mode.value == FOLDER:
            self._denoise_folder()
            return
        layers = list(self.layers.value)
        if not layers:
            show_warning("Select one or more image layers to denoise.")
            return
        for layer in layers:  # refuse mismatches up front, before any work
            axes = layer_axes(layer)
            channels = layer.data.shape[axes.index("C")] if "C" in axes else 1
            if self.model.dims == 3 and "Z" not in axes:
                report(
                    ValueError(f"'{layer.name}' has no Z axis (axes {axes}) but the model is 3D; use a 2D model"),
                    "Denoising",
                )
                return
            if channels != self.model.channels:
                report(
                    ValueError(
                        f"'{layer.name}' has {channels} channel(s) but the model expects {self.model.channels}; "
                        "use a model trained on matching data"
                    ),
                    "Denoising",
                )
                return
        self._queue = layers
        self._set_running(True)
        self._next()

    @property
    def options(self) -> PredictOptions:
        """The prediction settings as they are in the form."""
        return PredictOptions(
            tile_size=self.tile_size.value or None,
            overlap=self.overlap.value,
            tta=self.tta.value,
            device=self.device.value,
            estimate=self.estimate.value,
        )

    def _next(self) -> None:
        if not self._queue:
            self._set_running(False, "Done.", finished=True)
            return
        layer = self._queue.pop(0)
        self.status.value = f"Denoising {layer.name}…"
        self._worker = denoise_layer_worker(
            self.model,
            layer,
            layer_axes(layer),
            self._progress,
            self.options,
        )
        self._worker.returned.connect(lambda data, layer=layer: self._add(layer, data))
        self._worker.errored.connect(self._failed)
        self._worker.start()

    def _denoise_folder(self) -> None:
        """Every TIFF/PNG of the input folder into the output folder, in the background."""
        folder, out = (
            Path(w.value) if str(w.value) not in ("", ".") else None for w in (self.input_folder, self.output_folder)
        )
        if folder is None or not folder.is_dir():
            show_warning("Choose an input folder holding TIFF or PNG images.")
            return
        if out is None:
            show_warning("Choose an output folder for the denoised images.")
            return
        try:
            paths = [p for p in find_inputs([str(folder)]) if p.is_file()]  # zarr stores: the command line
            out.mkdir(parents=True, exist_ok=True)
        except (Noise2SameError, OSError) as e:
            report(e, "Denoising the folder")
            return
        if not paths:
            show_warning(f"{folder} holds no TIFF or PNG image.")
            return
        self._files = {"total": len(paths), "done": 0, "skipped": []}
        self._set_running(True, f"Denoising {len(paths)} file(s) into {out}…")
        self._worker = denoise_files_worker(
            self.model,
            paths,
            out,
            self._progress,
            self.options,
        )
        self._worker.yielded.connect(self._file_done)
        self._worker.finished.connect(self._folder_finished)
        self._worker.errored.connect(self._failed)
        self._worker.start()

    def _file_done(self, result) -> None:
        i, path, target, error = result
        if not self._alive:
            return
        if error:
            self._files["skipped"].append(f"{path.name}: {error}")
        else:
            self._files["done"] += 1
        self.status.value = f"{i + 1} of {self._files['total']}: {path.name} → {target.name if target else 'skipped'}"

    def _folder_finished(self) -> None:
        if not self._alive or not self.stop_button.enabled:  # stopped or failed: already reported
            return
        f = self._files
        message = f"Denoised {f['done']} of {f['total']} file(s)."
        if f["skipped"]:
            show_warning(f"Skipped {len(f['skipped'])} file(s): " + "; ".join(f["skipped"]))
            message += f" Skipped {len(f['skipped'])}: {f['skipped'][0]}"
        self._set_running(False, message, finished=True)

    # -- export ---------------------------------------------------------------------------
    def _export_dialog(self) -> None:
        if self.model is None:
            show_warning("Load a model file (.n2s) or train one first.")
            return
        path = ask_save(
            self.native, "Export as a bioimage.io package", "noise2same.zip", ".zip", "bioimage.io package (*.zip)"
        )
        if path:
            self.export(path)

    def export(self, path) -> None:
        """Write the current model as a bioimage.io package in the background."""
        if self._worker is not None and self._worker.is_running:
            return
        self._set_running(True, f"Exporting {Path(path).name}…")
        self.stop_button.enabled = False  # the export runs to its end (its file appears only then)
        self._worker = create_worker(export_bioimageio, self.model, path, _start_thread=False, _ignore_errors=True)
        self._worker.returned.connect(lambda written: self._exported(written))
        self._worker.errored.connect(self._failed)
        self._worker.start()

    def _exported(self, path) -> None:
        if self._alive:
            self._set_running(False, f"Exported {path} (bioimage.io model format {TARGET_FORMAT}).", finished=True)
            show_info(f"Exported the model as a bioimage.io package (model format {TARGET_FORMAT}): {path}")

    def _add(self, layer, data) -> None:
        if not self._alive:
            return
        set_or_add(self.viewer, data, result_kwargs(layer, f"{layer.name}_denoised"))
        self._next()

    def _failed(self, error) -> None:
        if not self._alive:
            return
        self._queue = []
        report(error, "Denoising")
        self._set_running(False, "Stopped." if isinstance(error, InterruptedError) else "Failed.")

    def _progress(self, done: int, total: int) -> None:
        if not self._alive:
            return
        self.progress.value = int(1000 * done / max(total, 1))

    def stop(self) -> None:
        self._queue = []
        if self._worker is not None and self._worker.is_running:
            self._worker.quit()

    def _set_running(self, running: bool, message: str = "", finished: bool = False) -> None:
        """``finished``: the work is done, so the bar shows 100 %; a stop or a failure hides it."""
        self.denoise_button.enabled = self.export_button.enabled = not running
        self.stop_button.enabled = running
        if running:
            self.progress.value, self.progress.visible = 0, True
        else:
            self.progress.value = self.progress.max if finished else 0
            self.progress.visible = finished
        self.status.value = message
