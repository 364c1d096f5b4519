"""The network a bioimage.io package ships: its weights in both formats and its test output.

The architecture is ``noise2same_unet.py`` (self-contained, torch only); the engine's
state dict loads into it unchanged.  Its output on the test input must match
napari-noise2same's own predictor.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import numpy as np

#: the self-contained network source shipped in every package, and the class it defines
NETWORK_FILE = Path(__file__).with_name("noise2same_unet.py")
NETWORK_CALLABLE = "Noise2SameUNet"
#: output pixels this close to a tile's edge lack context (the network's receptive radius,
#: ``engine.unet.UNet.context``); tiling consumers crop it, so tiles must overlap by twice this
HALO = 24


def network_kwargs(model) -> dict:
    """The keyword arguments of ``Noise2SameUNet`` for ``model`` (also written to ``rdf.yaml``)."""
    return {"dims": model.dims, "channels": model.channels, "base_width": model.unet_config.base_width}


def write_weights(model, folder: Path):
    """Save the state dict and the TorchScript module; return the exported network (eager, eval)."""
    import torch

    from .noise2same_unet import Noise2SameUNet

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
    ours = on_cpu.predict(test_input[0], "C" + spatial, device="cpu")
    scale = float(np.std(test_input)) or 1.0
    err = float(np.max(np.abs(ours - test_output[0]))) / scale
    if not err < 1e-3:
        raise RuntimeError(f"the exported network differs from napari-noise2same's predictor ({err:.2g} std)")
