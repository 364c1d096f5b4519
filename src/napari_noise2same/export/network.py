"""The network a bioimage.io package ships: its weights in both formats and its test output.

The architecture is the engine's own network file, ``engine/unet.py`` (torch only), shipped
as ``noise2same_unet.py``; its ``Noise2SameUNet`` takes the engine's state dict unchanged.
Its output on the test input must match napari-noise2same's own predictor.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import numpy as np

from ..engine import unet
from ..engine.predict_options import PredictOptions

#: the network source shipped in every package (the engine's own), its name there, its class
NETWORK_FILE = Path(unet.__file__)
PACKAGE_NETWORK_NAME = "noise2same_unet.py"
NETWORK_CALLABLE = unet.Noise2SameUNet.__name__
#: output pixels this close to a tile's edge lack context; tiling consumers crop it
HALO = unet.HALO


def network_kwargs(model) -> dict:
    """The keyword arguments of ``Noise2SameUNet`` for ``model`` (also written to ``rdf.yaml``)."""
    return {"dims": model.dims, "channels": model.channels, "base_width": model.unet_config.base_width}


def write_weights(model, folder: Path):
    """Save the state dict and the TorchScript module; return the exported network (eager, eval)."""
    import torch

    from ..engine.unet import Noise2SameUNet

    state = {k: v.detach().cpu().contiguous() for k, v in model.net.state_dict().items()}
    network = Noise2SameUNet(**network_kwargs(model))
    network.load_state_dict(state, strict=True)
    network.eval()
    torch.save(state, folder / "weights.pt")
    torch.jit.script(network).save(str(folder / "weights_torchscript.pt"))
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
