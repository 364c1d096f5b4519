"""Running the network on one normalised tile with PyTorch (any device), with or without TTA."""

from __future__ import annotations

import numpy as np
import torch

from .unet import channels_last


class TorchRunner:
    """``runner(tile, tta)``: (C, *spatial) float32 normalised, sides multiples of 4 -> the same.

    ``precision`` "bfloat16": the network runs under autocast to bfloat16 (on the CPU: its
    convolutions in oneDNN's bfloat16 kernels), the output is float32 as always."""

    engine = "torch"

    def __init__(self, net: torch.nn.Module, device: torch.device, dims: int, precision: str = "float32"):
        self.device = device
        self.net = net.to(device, memory_format=channels_last(dims)).eval()  # type: ignore[call-overload]
        self.precision = precision

    def __call__(self, tile: np.ndarray, tta: bool = False) -> np.ndarray:
        bf16 = self.precision == "bfloat16"
        with torch.inference_mode(), torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=bf16):
            return self._run(tile, tta)

    def _run(self, tile: np.ndarray, tta: bool) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(tile))[None].to(self.device)
        x = x.contiguous(memory_format=channels_last(x.ndim - 2))
        if not tta:
            return self.net(x)[0].float().cpu().numpy()
        acc = torch.zeros_like(x)
        square = x.shape[-1] == x.shape[-2]
        for k in range(4) if square else (0, 2):
            for flip in (False, True):
                t = torch.rot90(x, k, dims=(-2, -1))
                t = t.flip(-1) if flip else t
                y = self.net(t).float()
                y = y.flip(-1) if flip else y
                acc += torch.rot90(y, -k, dims=(-2, -1))
        return (acc / (8 if square else 4))[0].cpu().numpy()
