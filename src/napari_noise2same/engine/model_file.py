"""The ``.n2s`` container: a zip of ``model.json`` and ``weights.safetensors``.

This module knows the file, not the model: :mod:`.model` turns a model into JSON and tensors
and back, and calls :func:`write` and :func:`read` here.

A checkpoint written during training also holds ``optimizer.safetensors`` (Adam's moments,
with the optimiser's settings in its metadata), so that training continues exactly.
JSON and safetensors hold data only, so loading a file never runs code from it
(nothing is unpickled).  Files are written to a temporary name beside the
target and renamed, so an interrupted save never leaves half a model.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from .. import __version__
from ..atomic import atomic_write
from ..errors import ModelFileError

FORMAT = "napari-noise2same model"
FORMAT_VERSION = 1
SUFFIX = ".n2s"
NOT_A_MODEL = "{} is not a Noise2Same model (.n2s) file; choose one saved by napari-noise2same"
_META, _WEIGHTS, _OPTIMIZER = "model.json", "weights.safetensors", "optimizer.safetensors"


def write(path: str | os.PathLike, meta: dict, state: dict[str, torch.Tensor], optimizer: dict | None = None) -> Path:
    """Write a model file atomically: ``meta`` (JSON-able, without the format fields, which are
    added here), the network's ``state`` dict and, for a checkpoint, a torch optimiser state."""
    path = Path(path)
    header = json.dumps(
        {"format": FORMAT, "format_version": FORMAT_VERSION, "package_version": __version__, **meta}, indent=2
    )
    tensors = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    weights = save_safetensors(tensors, metadata={"format": FORMAT})
    extra = _optimizer_bytes(optimizer) if optimizer is not None else None
    atomic_write(path, lambda f: _write_zip(f, header, weights, extra))
    return path


def _write_zip(f, meta: str, weights: bytes, optimizer: bytes | None) -> None:
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr(_META, meta)
        z.writestr(_WEIGHTS, weights)
        if optimizer is not None:
            z.writestr(_OPTIMIZER, optimizer)


def _optimizer_bytes(state: dict) -> bytes:
    """A torch optimiser state dict as safetensors: the per-parameter tensors by name, the
    settings (param_groups) as JSON in the metadata."""
    tensors = {
        f"{index}.{key}": torch.as_tensor(value).detach().cpu().contiguous()
        for index, entries in state["state"].items()
        for key, value in entries.items()
    }
    return save_safetensors(tensors, metadata={"param_groups": json.dumps(state["param_groups"])})


def _optimizer_state(blob: bytes) -> dict:
    tensors = load_safetensors(blob)
    # the metadata sits in the file's JSON header: 8 bytes of length (little-endian), then the header
    header_len = int.from_bytes(blob[:8], "little")
    groups = json.loads(json.loads(blob[8 : 8 + header_len])["__metadata__"]["param_groups"])
    state: dict = {}
    for name, value in tensors.items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    return {"state": state, "param_groups": groups}


def read_metadata(path: str | os.PathLike) -> dict:
    """The JSON part of a model file, checked for format and version (no weights are read)."""
    meta, _ = _read(path, weights=False)
    return meta


def read(path: str | os.PathLike) -> tuple[dict, dict[str, torch.Tensor], dict | None]:
    """``(meta, state, optimizer)`` of a model file: its JSON, the network's state dict and a
    checkpoint's optimiser state (None for a finished model).  Nothing is unpickled."""
    meta, (weights, optimizer) = _read(path, weights=True)
    try:
        return meta, load_safetensors(weights), (_optimizer_state(optimizer) if optimizer is not None else None)
    except (SafetensorError, ValueError, KeyError, TypeError, json.JSONDecodeError) as e:
        raise ModelFileError(
            f"{path} is damaged or was edited ({type(e).__name__}); retrain or re-export it", path=Path(path)
        ) from None


def _read(path, weights: bool):
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file {path} does not exist; check the path", path=path)
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if _META not in names or _WEIGHTS not in names:
                raise ModelFileError(
                    f"{path} is not a Noise2Same model (.n2s) file; choose one saved by napari-noise2same", path=path
                )
            meta = json.loads(z.read(_META).decode("utf-8"))
            blob = (z.read(_WEIGHTS), z.read(_OPTIMIZER) if _OPTIMIZER in names else None) if weights else None
    except (zipfile.BadZipFile, OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError, zipfile.LargeZipFile):
        raise ModelFileError(
            f"{path} is not a readable Noise2Same model (.n2s) file (damaged or another format)", path=path
        ) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(
            f"{path} is not a Noise2Same model (.n2s) file; choose one saved by napari-noise2same", path=path
        )
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} was written by napari-noise2same {meta.get('package_version', '?')} in model format "
            f"{version}, which this version ({__version__}) cannot read; upgrade with "
            f"'pip install -U napari-noise2same'",
            path=path,
        )
    return meta, blob
