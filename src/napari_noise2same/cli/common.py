"""Helpers shared by the subcommands: reading inputs, checking output paths, formatting."""

from __future__ import annotations

import os
from pathlib import Path

from ..batch import read_input
from ..errors import Noise2SameError

DEVICE_HELP = "auto, cpu, cuda, cuda:N or mps (default auto)"


def read_inputs(inputs, axes):
    from ..io import find_inputs

    return [read_input(path, axes) for path in find_inputs(inputs)]


def read_training_inputs(inputs, axes):
    """The images to train on: in memory while they fit, read patch by patch from the files beyond."""
    from ..batch import read_training_inputs as read
    from ..io import find_inputs

    return read(find_inputs(inputs), axes)


def device(name):
    from ..engine.devices import resolve_device

    return resolve_device(name)


def words(error: Noise2SameError) -> str:
    """An error's message with its fixes as command-line options (``--axes ZYX``)."""
    return error.render(lambda f: f"--{f.setting.replace('_', '-')}" + ("" if f.value is None else f" {f.value}"))


def output_folder(folder: Path) -> Path:
    if folder.exists() and not folder.is_dir():
        raise Noise2SameError(f"output {folder} is a file; give a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise Noise2SameError(f"cannot create the output folder {folder} ({e.strerror}); choose another one") from None
    if not os.access(folder, os.W_OK):
        raise Noise2SameError(f"cannot write to {folder}; choose a writable output folder")
    return folder


def check_writable(path: Path, what: str = "the model", example: str = "model.n2s") -> None:
    if path.is_dir():
        raise Noise2SameError(f"{path} is a folder; give {what} a file name, e.g. {path / example}")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise Noise2SameError(f"folder {folder} does not exist; create it or choose another output path")
    if not os.access(folder, os.W_OK):
        raise Noise2SameError(f"cannot write to {folder}; choose a writable folder for {what}")
