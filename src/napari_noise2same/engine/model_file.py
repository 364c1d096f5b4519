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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as load_safetensors
from safetensors.numpy import save as save_safetensors

from .. import __version__
from ..atomic import atomic_write
from ..errors import ModelFileError

FORMAT = "napari-noise2same model"
FORMAT_VERSION = 1
SUFFIX = ".n2s"
NOT_A_MODEL = "{} is not a Noise2Same model (.n2s) file; choose one saved by napari-noise2same"
_META, _WEIGHTS, _OPTIMIZER, _ONNX = "model.json", "weights.safetensors", "optimizer.safetensors", "network.onnx"
ONNX_MEMBER = _ONNX


@dataclass
class Contents:
    """What a model file holds, as data: JSON, arrays, bytes."""

    meta: dict
    state: dict[str, np.ndarray]  # the network's state dict
    optimizer: dict | None = None  # a checkpoint's optimiser state ({"state": ..., "param_groups": ...})
    onnx: bytes | None = None  # the network as an ONNX graph (engine/onnx_export.py), where saved


def write(path: str | os.PathLike, contents: Contents) -> Path:
    """Write a model file atomically (the format fields are added to ``contents.meta`` here)."""
    path = Path(path)
    header = json.dumps(
        {"format": FORMAT, "format_version": FORMAT_VERSION, "package_version": __version__, **contents.meta}, indent=2
    )
    weights = save_safetensors(
        {k: np.ascontiguousarray(v) for k, v in contents.state.items()}, metadata={"format": FORMAT}
    )
    members = {_META: header.encode("utf-8"), _WEIGHTS: weights}
    if contents.optimizer is not None:
        members[_OPTIMIZER] = _optimizer_bytes(contents.optimizer)
    if contents.onnx is not None:
        members[_ONNX] = contents.onnx
    atomic_write(path, lambda f: _write_zip(f, members))
    return path


def _write_zip(f, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as z:
        for name, blob in members.items():
            z.writestr(name, blob)


def _optimizer_bytes(state: dict) -> bytes:
    """An optimiser state dict (arrays) as safetensors: the per-parameter arrays by name, the
    settings (param_groups) as JSON in the metadata."""
    arrays = {
        f"{index}.{key}": np.ascontiguousarray(np.asarray(value))
        for index, entries in state["state"].items()
        for key, value in entries.items()
    }
    return save_safetensors(arrays, metadata={"param_groups": json.dumps(state["param_groups"])})


def _optimizer_state(blob: bytes) -> dict:
    arrays = load_safetensors(blob)
    # the metadata sits in the file's JSON header: 8 bytes of length (little-endian), then the header
    header_len = int.from_bytes(blob[:8], "little")
    groups = json.loads(json.loads(blob[8 : 8 + header_len])["__metadata__"]["param_groups"])
    state: dict = {}
    for name, value in arrays.items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    return {"state": state, "param_groups": groups}


def read_metadata(path: str | os.PathLike) -> dict:
    """The JSON part of a model file, checked for format and version (no weights are read)."""
    return _read(path, weights=False).meta


def read(path: str | os.PathLike, weights: bool = True, onnx: bool = False) -> Contents:
    """A model file's contents: its JSON, the network's state dict (``weights``), a checkpoint's
    optimiser state, and (``onnx``) its ONNX graph where it has one.  Nothing is unpickled."""
    return _read(path, weights, onnx)


def _read(path, weights: bool, onnx: bool = False) -> Contents:
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file {path} does not exist; check the path", path=path)
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if _META not in names or _WEIGHTS not in names:
                raise ModelFileError(NOT_A_MODEL.format(path), path=path)
            meta = json.loads(z.read(_META).decode("utf-8"))
            blobs = {n: z.read(n) for n in names if (n in (_WEIGHTS, _OPTIMIZER) and weights) or (n == _ONNX and onnx)}
    except (zipfile.BadZipFile, OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError, zipfile.LargeZipFile):
        raise ModelFileError(
            f"{path} is not a readable Noise2Same model (.n2s) file (damaged or another format)", path=path
        ) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(NOT_A_MODEL.format(path), path=path)
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} was written by napari-noise2same {meta.get('package_version', '?')} in model format "
            f"{version}, which this version ({__version__}) cannot read; upgrade with "
            f"'pip install -U napari-noise2same'",
            path=path,
        )
    try:
        state = load_safetensors(blobs[_WEIGHTS]) if _WEIGHTS in blobs else {}
        optimizer = _optimizer_state(blobs[_OPTIMIZER]) if _OPTIMIZER in blobs else None
    except (SafetensorError, ValueError, KeyError, TypeError, json.JSONDecodeError) as e:
        raise ModelFileError(
            f"{path} is damaged or was edited ({type(e).__name__}); retrain or re-export it", path=path
        ) from None
    return Contents(meta, state, optimizer, blobs.get(_ONNX))
