"""The network as an ONNX graph, for ONNX Runtime and for bioimage.io consumers.

``torch.onnx.export`` with the ``torch.export`` exporter (``dynamo=True``, the one PyTorch
maintains), batch and spatial sizes dynamic.  :func:`export_onnx` exports the engine's
:class:`.unet.UNet` (normalised input whose sides are multiples of ``SIZE_MULTIPLE``: what the
predictor feeds it); :func:`export_packaged_onnx` the bioimage.io :class:`.unet.Noise2SameUNet`
(normalisation and padding inside, any size).  Both need ``pip install 'napari-noise2same[onnx]'``.
"""

from __future__ import annotations

import copy
import io
import logging
import warnings

import torch

from ..errors import Noise2SameError
from .geometry import SIZE_MULTIPLE
from .onnx_runner import ONNX_HINT, OPSET, check_written_graph, exporter_available
from .unet import Noise2SameUNet, UNet

MAX_SIDE = 2**15


def export_onnx(net: UNet) -> bytes:
    """The engine's network (eval mode, on the CPU, a copy) as ONNX bytes."""
    return _export(_plain_copy(net), multiple=SIZE_MULTIPLE)


def export_packaged_onnx(net: UNet) -> bytes:
    """The bioimage.io form of ``net`` (its own normalisation and padding) as ONNX bytes."""
    c = net.config
    packaged = Noise2SameUNet(c.dims, c.in_channels, c.base_width, c.groups)
    packaged.load_state_dict(_plain_copy(net).state_dict(), strict=True)
    return _export(packaged.eval(), multiple=1)


def _plain_copy(net: UNet) -> UNet:
    """A copy on the CPU in eval mode with weights in the default memory layout: channels-last
    weights (what training uses) make torch.export fix the batch size."""
    plain = copy.deepcopy(net).cpu().to(memory_format=torch.contiguous_format)  # type: ignore[call-overload]
    return plain.eval()


def _export(net: UNet, multiple: int) -> bytes:
    if not exporter_available():
        raise Noise2SameError(f"exporting to ONNX needs the onnx and onnxscript packages: {ONNX_HINT}")
    dims, channels = net.config.dims, net.config.in_channels
    # a batch of 2 (an example batch of 1 lets torch.export fix the batch at 1 in 3D) and sides
    # of at least SIZE_MULTIPLE, which the packaged network's padding needs
    example = torch.zeros((2, channels) + (4 * SIZE_MULTIPLE,) * dims)
    sides = {
        2 + i: (
            multiple * torch.export.Dim(f"side{i}", min=1, max=MAX_SIDE // multiple)
            if multiple > 1
            else torch.export.Dim(f"side{i}", min=SIZE_MULTIPLE, max=MAX_SIDE)
        )
        for i in range(dims)
    }
    shapes = {"x": {0: torch.export.Dim("batch", min=1, max=4096), **sides}}
    buffer = io.BytesIO()
    quiet = logging.getLogger("torch.onnx")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                net,
                (example,),
                input_names=["x"],
                output_names=["y"],
                opset_version=OPSET,
                dynamo=True,
                dynamic_shapes=shapes,
                external_data=False,
                verbose=False,
            )
        if program is None:  # only the legacy exporter returns nothing
            raise RuntimeError("torch.onnx.export gave no program")
        program.save(buffer)  # type: ignore[arg-type]  # a file object works (torch's annotation says paths)
    finally:
        quiet.setLevel(level)
    check_written_graph(buffer.getvalue())
    return buffer.getvalue()
