"""What the training widget trains on: several image layers or a folder of files, and what it
validates on (a held-out strip of each image, a layer, or a file).

The layers are read where they are (numpy or lazy); a folder's TIFFs are opened lazily and read
patch by patch (engine/data.py), so a folder larger than memory trains, and nothing from it is
added to the viewer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import napari
from magicgui.widgets import ComboBox, FileEdit, Select

from ..errors import Noise2SameError
from .layers import layer_array, layer_axes

LAYERS, FOLDER = "layers", "folder"


class SingleLayer:
    """``widget.layer``: the first chosen layer; setting it chooses that layer alone, so scripts
    written for the one-layer widget keep working."""

    def __init__(self, select: Select):
        self._select = select

    @property
    def value(self):
        chosen = self._select.value
        return chosen[0] if chosen else None

    @value.setter
    def value(self, layer) -> None:
        self._select.value = [] if layer is None else [layer]


@dataclass
class Inputs:
    """The training images as the widget gathered them (on the GUI thread: nothing read yet)."""

    names: list[str]
    axes: list[str]
    arrays: list = field(default_factory=list)  # the layers' data; a folder's are read by load()
    layers: list = field(default_factory=list)  # the layers trained on (none for a folder)
    files: list[Path] = field(default_factory=list)  # a folder's files
    override_axes: str | None = None  # a folder's axes, typed by the user
    val_names: list[str] = field(default_factory=list)
    val_axes: list[str] = field(default_factory=list)
    val_arrays: list = field(default_factory=list)
    val_file: Path | None = None
    pixel_size: tuple | None = None  # a folder's first file's (sizes, unit), for the model

    @property
    def key(self) -> tuple:
        """What a model is bound to: other images (or axes) start a new model."""
        if self.files:
            return (tuple(str(f) for f in self.files), self.override_axes)
        return tuple((id(layer), tuple(layer.data.shape), ax) for layer, ax in zip(self.layers, self.axes, strict=True))

    def describe(self) -> str:
        if self.files:
            return f"{len(self.files)} file(s) in {self.files[0].parent}"
        return self.names[0] if len(self.names) == 1 else f"{len(self.names)} layers"

    def load(self) -> None:
        """Open a folder's files (lazily) and the validation file: slow, so in the worker thread."""
        from ..batch import read_training_inputs

        if self.files:
            images = read_training_inputs(self.files, self.override_axes, lazy=True)
            self.arrays, self.axes = [im.data for im in images], [im.axes for im in images]
            self.pixel_size = (images[0].pixel_size, images[0].unit)
        if self.val_file is not None:
            (image,) = read_training_inputs([self.val_file], self.override_axes or None)
            self.val_arrays, self.val_axes, self.val_names = [image.data], [image.axes], [str(self.val_file)]


class TrainInputs:
    """Mixed into the training widget: the source, layer, folder and validation pickers."""

    viewer: napari.viewer.Viewer

    def _build_inputs(self) -> None:
        self.source = ComboBox(
            label="train on",
            choices=[("image layers", LAYERS), ("a folder of files", FOLDER)],
            value=LAYERS,
            tooltip="a folder: one model from every TIFF and PNG in it, read patch by patch; "
            "nothing is added to the viewer until you apply the model",
        )
        self.layers = Select(
            label="images",
            choices=self._image_layers,
            tooltip="one model for all the chosen layers (shapes may differ, channels must match); "
            "ctrl- or shift-click to choose several",
        )
        row = self.layers.native.fontMetrics().lineSpacing() + 6  # a list row: text and napari's padding
        self.layers.native.setMinimumHeight(int(4.5 * row))  # four names in view, not two
        self.layer = SingleLayer(self.layers)
        self.folder = FileEdit(label="folder", mode="d", visible=False)
        self.validation = ComboBox(
            label="validation",
            choices=self._validation_choices,
            tooltip="the images whose loss shows as 'validation' in the plot (and ends training with "
            "'stop when done'): a strip held out of each training image, or another layer",
        )
        self.validation_file = FileEdit(
            label="validation file",
            mode="r",
            filter="*.tif *.tiff *.png",
            visible=False,
            tooltip="optional: a TIFF or PNG to validate on instead of a held-out strip",
        )
        self.source.changed.connect(self._source_changed)

    def _image_layers(self, _=None) -> list:
        """The image layers to choose from, without the live previews this widget draws into."""
        return [
            layer
            for layer in self.viewer.layers
            if isinstance(layer, napari.layers.Image) and not layer.name.endswith("_preview")
        ]

    def _validation_choices(self, _=None) -> list:
        return [("a held-out strip of each image", None)] + [(layer.name, layer) for layer in self._image_layers()]

    def _source_changed(self, source: str) -> None:
        folder = source == FOLDER
        self.folder.visible = self.validation_file.visible = folder
        self.layers.visible = self.validation.visible = not folder
        self.axes.tooltip = (
            "axes of the files over STCZYX (empty: read from each file)"
            if folder
            else "axes of the first chosen layer over STCZYX (S/T samples, C channels, Z depth, Y X); "
            "they apply to every chosen layer with as many dimensions"
        )
        self.axes.value = "" if folder else (layer_axes(self.layer.value) if self.layer.value is not None else "")

    def _choose_a_layer(self, *_) -> None:
        """With no layer chosen, choose the active image layer (or the first): one click to Train."""
        if self.layers.value:
            return
        self.layers.reset_choices()
        images = self._image_layers()
        if images:
            active = self.viewer.layers.selection.active
            self.layers.value = [active if active in images else images[0]]

    @property
    def folder_mode(self) -> bool:
        return self.source.value == FOLDER

    def _layer_axes(self, layer, first_axes: str, first_ndim: int) -> str:
        """A chosen layer's axes: the field's for layers with as many dimensions as the first, else its own."""
        return first_axes if layer.data.ndim == first_ndim else layer_axes(layer)

    def _gather(self) -> Inputs:
        """The chosen images and validation data, checked; raises Noise2SameError naming the fix."""
        typed = self.axes.value.strip().upper()
        if self.folder_mode:
            return self._gather_folder(typed)
        layers = list(self.layers.value or [])
        if not layers:
            raise Noise2SameError(
                "pick one or more image layers to train on (open one with File > Open or File > Open Sample)"
            )
        axes = [self._layer_axes(layer, typed, layers[0].data.ndim) for layer in layers]
        inputs = Inputs([layer.name for layer in layers], axes, [layer_array(layer) for layer in layers], layers)
        val = self.validation.value
        if val is not None:
            if any(val.name == layer.name for layer in layers):  # (napari's proxies: compared by name)
                raise Noise2SameError(
                    f"{val.name} is both a training and the validation layer; validate on another layer "
                    "or on a held-out strip"
                )
            inputs.val_names, inputs.val_arrays = [val.name], [layer_array(val)]
            inputs.val_axes = [self._layer_axes(val, typed, layers[0].data.ndim)]
        return inputs

    def _gather_folder(self, typed: str) -> Inputs:
        from ..io import find_inputs

        folder = Path(str(self.folder.value or "")).expanduser()
        if not str(self.folder.value or "").strip() or not folder.is_dir():
            raise Noise2SameError("choose a folder of TIFF or PNG files to train on")
        files = find_inputs([str(folder)])  # its TIFFs, PNGs (and zarr stores), or a message naming the fix
        inputs = Inputs([p.name for p in files], [], files=files, override_axes=typed or None)
        val = str(self.validation_file.value or "").strip()
        if val and Path(val).is_file():
            inputs.val_file = Path(val)
            if inputs.val_file.resolve() in {f.resolve() for f in files}:
                raise Noise2SameError(
                    f"{inputs.val_file.name} is in the training folder; validate on a file outside it"
                )
        return inputs
