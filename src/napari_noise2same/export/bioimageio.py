"""Export a trained Noise2Same model as a bioimage.io model package (model format 0.5.3).

The package is a zip of ``rdf.yaml`` and the files it names; ``rdf.yaml`` is written in the
oldest model format that holds what it needs (``format_version.py``), so that the releases
people have installed read it, not only the newest:

* ``noise2same_unet.py``: the engine's own network file (``engine/unet.py``, torch only),
  the architecture of the ``pytorch_state_dict`` weights ``weights.pt``;
* ``weights_torchscript.pt``: the same network compiled with ``torch.jit.script``;
* ``weights.onnx`` where the onnx extra is installed;
* ``test_input.npy`` / ``test_output.npy`` (and TIFF copies as sample tensors);
* ``cover.png`` (noisy | denoised) and ``README.md`` (what the model is, how it was trained).

Normalisation.  napari-noise2same standardises every image by its own per-channel mean
and standard deviation and maps the network's output back with the same two numbers.
bioimage.io 0.5 has a per-sample ``zero_mean_unit_variance`` preprocessing, but no
postprocessing that undoes it with the *input's* statistics (``scale_mean_variance``
re-standardises the output by its own statistics first, which would give a denoised
image the noisy image's variance), so the standardisation lives inside the network
(see ``noise2same_unet.py``) and the package declares no normalisation steps.  Any
consumer that runs the weights therefore reproduces napari-noise2same's output.

This module runs the export and writes the package; the parts live beside it:
``samples.py`` (the test input), ``network.py`` (weights, test output, the check against
the predictor), ``description.py`` (the ``rdf.yaml`` description) and ``documents.py``
(README and cover).  bioimage.io is imported inside the function: the extra
``napari-noise2same[bioimageio]`` is needed only to export.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..engine.onnx_runner import exporter_available
from ..errors import Noise2SameError
from .description import describe
from .documents import readme, write_cover
from .format_version import TARGET_FORMAT, read_yaml, target_format_problems, to_target_format
from .network import HALO, PACKAGE_NETWORK_NAME, check_against_engine, network_source, run_network, write_weights
from .samples import make_test_input, min_input_size

if TYPE_CHECKING:
    from ..engine.model import Noise2SameModel

__all__ = ["export_bioimageio", "EXTRA_HINT", "HALO", "min_input_size"]

EXTRA_HINT = "bioimage.io export needs the optional extra: pip install 'napari-noise2same[bioimageio]'"
DEFAULT_AUTHORS = ["napari-noise2same user"]


def export_bioimageio(
    model: Noise2SameModel | str | os.PathLike,
    output: str | os.PathLike,
    *,
    sample: np.ndarray | None = None,
    sample_axes: str | None = None,
    name: str | None = None,
    authors: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
    onnx: bool | None = None,
) -> Path:
    """Write ``model`` (a :class:`Noise2SameModel` or a ``.n2s`` path) as a bioimage.io package ``output`` (.zip).

    ``sample`` is the test image (axes ``sample_axes``, default the model's axes or its
    spatial axes): its first time point/plane, centre-cropped to at most 256x256 (2D) or
    64^3 (3D); at least 49 px per spatial axis.  Without one, a built-in noisy example is
    used.  ``name`` defaults to the model file's stem, ``authors`` to a placeholder.
    ``progress(message)`` is called before each step.  ``onnx``: add ONNX weights (default:
    where the onnx extra is installed).  Returns ``output``.
    Raises :class:`Noise2SameError` (one sentence with the fix) for a missing extra,
    an unwritable output or a sample that does not fit the model.
    """
    say = progress or (lambda message: None)
    spec = _import_bioimageio()
    output = _check_output(Path(output))
    source_name = None
    if not _is_model(model):
        from ..engine.model import load_model

        say(f"loading {model}")
        source_name = Path(model).stem
        model = load_model(model)
    name = _model_name(name, source_name or output.stem)
    authors = _authors(authors)
    test_input = make_test_input(model, sample, sample_axes)

    with tempfile.TemporaryDirectory(prefix="n2s-bioimageio-") as tmp:
        folder = Path(tmp)
        onnx = exporter_available() if onnx is None else onnx
        say("writing weights (state dict, TorchScript" + (", ONNX)" if onnx else ")"))
        network = write_weights(model, folder, onnx)
        say("computing the test output")
        test_output = run_network(network, test_input)
        check_against_engine(model, test_input, test_output)
        np.save(folder / "test_input.npy", test_input)
        np.save(folder / "test_output.npy", test_output)
        _write_tiff(folder / "sample_input.tif", test_input)
        _write_tiff(folder / "sample_output.tif", test_output)
        (folder / PACKAGE_NETWORK_NAME).write_text(network_source())
        write_cover(folder / "cover.png", test_input, test_output)
        (folder / "README.md").write_text(readme(model, name, test_input.shape), encoding="utf-8")
        say("describing the package")
        try:
            descr = describe(model, folder, name, authors, test_output)
        except ValueError as e:  # pydantic's ValidationError is a ValueError
            if "index_key" in str(e):  # bioimageio.spec < 0.5.14 serialises in a way pydantic 2.14 refuses
                raise Noise2SameError(
                    "this bioimageio.spec does not work with pydantic >= 2.14; install a working pair: "
                    "pip install 'pydantic<2.14'"
                ) from None
            raise
        say(f"writing the package in bioimage.io model format {TARGET_FORMAT}, validating and zipping it")
        zipped = _write_package(spec, descr, folder / "package", folder / "package.zip")
        from ..atomic import atomic_write

        say(f"writing {output}")
        atomic_write(output, lambda f: _copy_file(zipped, f))
    return output


def _write_package(spec, descr, folder: Path, zipped: Path) -> Path:
    """The package of ``descr`` as ``zipped``, its ``rdf.yaml`` in ``TARGET_FORMAT``
    (export/format_version.py), checked against that format and validated by the installed
    bioimageio.spec.  A failure is our bug, not the user's: RuntimeError."""
    spec.save_bioimageio_package_as_folder(descr, output_path=folder)  # rdf.yaml in the newest format, and the files
    rdf = to_target_format(read_yaml(folder / "rdf.yaml"))
    problems = target_format_problems(rdf)
    if problems:
        raise RuntimeError(f"the package does not fit bioimage.io model format {TARGET_FORMAT}: {'; '.join(problems)}")
    spec.save_bioimageio_yaml_only(rdf, file=folder / "rdf.yaml")
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(folder / "rdf.yaml", "rdf.yaml")
        for path in sorted(folder.iterdir()):
            if path.name != "rdf.yaml":
                z.write(path, path.name)
    loaded = spec.load_description(zipped, perform_io_checks=True)
    if loaded.validation_summary.status != "valid-format":
        raise RuntimeError(f"the exported package is not valid bioimage.io:\n{loaded.validation_summary.format()}")
    return zipped


def _copy_file(source: Path, target) -> None:
    """Copy the file ``source`` into the open binary file ``target``."""
    with open(source, "rb") as f:
        shutil.copyfileobj(f, target, 2**20)


# -- checks -----------------------------------------------------------------------------------
def _import_bioimageio():
    """``bioimageio.spec``, with the model spec 0.5 that the package is written in."""
    try:
        spec = importlib.import_module("bioimageio.spec")
        importlib.import_module("bioimageio.spec.model.v0_5")
    except ImportError:
        raise Noise2SameError(EXTRA_HINT) from None
    return spec


def _is_model(model) -> bool:
    from ..engine.model import Noise2SameModel

    return isinstance(model, Noise2SameModel)


def _check_output(output: Path) -> Path:
    if output.suffix.lower() != ".zip":
        raise Noise2SameError(f"{output} is not a .zip path; name the bioimage.io package e.g. {output.stem}.zip")
    folder = output.parent
    if not folder.is_dir():
        raise Noise2SameError(f"folder {folder} does not exist; create it or choose another output path")
    if output.is_dir():
        raise Noise2SameError(f"{output} is a folder; choose a file name for the package")
    if not os.access(folder, os.W_OK):
        raise Noise2SameError(f"cannot write to {folder}; choose a writable folder")
    return output


def _model_name(name: str | None, fallback: str) -> str:
    """bioimage.io names: 5 to 128 letters, digits, spaces and _+-()."""
    if name is not None:
        name = name.strip()
        if not re.fullmatch(r"[A-Za-z0-9_+\- ()]{5,128}", name):
            raise Noise2SameError(
                f"model name {name!r} is not allowed by bioimage.io; use 5 to 128 letters, digits, spaces or _+-()"
            )
        return name
    stem = re.sub(r"[^A-Za-z0-9_+\- ()]+", "-", fallback).strip("- ") or "model"
    name = stem if stem.lower().startswith("noise2same") else f"Noise2Same {stem}"
    return name[:128]


def _authors(authors: list[str] | None) -> list[str]:
    if authors is None:
        return list(DEFAULT_AUTHORS)
    if isinstance(authors, str):
        authors = [authors]
    cleaned = [str(a).strip() for a in authors if str(a).strip()]
    if not cleaned or any("/" in a for a in cleaned):
        raise Noise2SameError("authors must be one or more names without '/', e.g. ['Ada Lovelace']")
    return cleaned


def _write_tiff(path: Path, tensor: np.ndarray) -> None:
    import tifffile

    tifffile.imwrite(path, tensor[0])  # (C, [Z,] Y, X): the batch axis left out
