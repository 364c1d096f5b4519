"""The network a bioimage.io package ships: its weights in both formats and its test output.

The architecture is the engine's own network file, ``engine/unet.py``, with the facts it
imports from ``engine/geometry.py`` written in place of that import (so the file stands alone:
torch and the standard library only), shipped as ``noise2same_unet.py``; its
``Noise2SameUNet`` takes the engine's state dict unchanged.  Its output on the test input
must match napari-noise2same's own predictor.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import numpy as np

from ..engine import geometry
from ..engine.predict_options import PredictOptions

#: the engine's network file and the geometry file it imports; the package's network file
NETWORK_FILE = Path(geometry.__file__).with_name("unet.py")
GEOMETRY_FILE = Path(geometry.__file__)
PACKAGE_NETWORK_NAME = "noise2same_unet.py"
NETWORK_CALLABLE = "Noise2SameUNet"
#: output pixels this close to a tile's edge lack context; tiling consumers crop it
HALO = geometry.HALO
_IMPORT = "from .geometry import "
ONNX_WEIGHTS = "weights.onnx"


def network_source() -> str:
    """``engine/unet.py`` with ``engine/geometry.py`` in place of the line importing it."""
    lines = NETWORK_FILE.read_text().splitlines(keepends=True)
    at = [i for i, line in enumerate(lines) if line.startswith(_IMPORT)]
    if len(at) != 1:
        raise RuntimeError(f"{NETWORK_FILE} should import {GEOMETRY_FILE.name} on one line")
    facts = GEOMETRY_FILE.read_text().split('"""', 2)[2].strip()  # without its docstring
    inlined = f"# from napari-noise2same's engine/geometry.py:\n{facts}\n"
    return "".join(lines[: at[0]]) + inlined + "".join(lines[at[0] + 1 :])


def network_kwargs(model) -> dict:
    """The keyword arguments of ``Noise2SameUNet`` for ``model`` (also written to ``rdf.yaml``)."""
    c = model.unet_config
    kwargs = {"dims": model.dims, "channels": model.channels, "base_width": c.base_width}
    return kwargs if c.groups == 1 else {**kwargs, "groups": c.groups}  # one network per channel


def write_weights(model, folder: Path, onnx: bool):
    """Save the state dict, the TorchScript module and (``onnx``) the ONNX graph of the packaged
    network; return that network (eager, eval)."""
    import torch

    from ..engine.unet import Noise2SameUNet

    state = {k: v.detach().cpu().contiguous() for k, v in model.net.state_dict().items()}
    network = Noise2SameUNet(**network_kwargs(model))
    network.load_state_dict(state, strict=True)
    network.eval()
    torch.save(state, folder / "weights.pt")
    torch.jit.script(network).save(str(folder / "weights_torchscript.pt"))
    if onnx:
        from ..engine.onnx_export import export_packaged_onnx

        (folder / ONNX_WEIGHTS).write_bytes(export_packaged_onnx(model.net))
    return network


def run_network(network, test_input: np.ndarray) -> np.ndarray:
    import torch

    with torch.no_grad():
        return network(torch.from_numpy(test_input)).numpy().astype(np.float32)


def check_against_engine(model, test_input: np.ndarray, test_output: np.ndarray) -> None:
    """The package's network must denoise like napari-noise2same itself (checked on the CPU, on a
    copy: the engine moves the network it predicts with, and the caller's model stays where it is)."""
    spatial = "ZYX" if model.dims == 3 else "YX"
    on_cpu = dataclasses.replace(model, net=copy.deepcopy(model.net).cpu())
    ours = on_cpu.predict(test_input[0], "C" + spatial, PredictOptions(device="cpu"))
    scale = float(np.std(test_input)) or 1.0
    err = float(np.max(np.abs(ours - test_output[0]))) / scale
    if not err < 1e-3:
        raise RuntimeError(f"the exported network differs from napari-noise2same's predictor ({err:.2g} std)")
