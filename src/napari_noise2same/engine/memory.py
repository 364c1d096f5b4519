"""Will a training step fit in memory?  An estimate before any work starts.

A training step holds the activations of two forward passes (x and x_J) for the backward
pass, plus the weights, their gradients and Adam's two moments.  The activations per input
pixel are counted once per network by running it on PyTorch's ``meta`` device (shapes only, no
memory, no arithmetic).  The estimate takes two passes' worth.  Measured on the CPU
(benchmarks/memory_estimate.py: the peak resident memory of a step above the warm state, in
units of one pass's counted activations): ``tiny`` 2D 0.22 (batch 64 of 128 x 128), ``fast``
2D 0.20 (32 of 128 x 128), ``paper`` 2D 0.89 (16 of 64 x 64), ``tiny`` 3D 0.06 (8 of
16 x 64 x 64): the CPU keeps far less than every layer's output, so the estimate errs on the
safe side, by 2x to 33x.  On a GPU it has not been measured.
"""

from __future__ import annotations

import functools
import math

import torch

from ..errors import ConfigError
from .unet import UNet, UNetConfig

#: activations kept per step, in units of one forward pass's (a safe bound: 0.06-0.89 measured on the CPU)
PASSES = 2.0
#: share of the free memory a step may take (the rest: data, the GUI, other programs)
SHARE = 0.6
OVERHEAD = 256 * 2**20  # torch's own buffers, the batch itself, the masks


@functools.lru_cache(maxsize=32)
def activations_per_pixel(dims: int, base_width: int, channels: int = 1) -> float:
    """Elements of all layer outputs of one forward pass, per input pixel."""
    with torch.device("meta"):
        net = UNet(UNetConfig(dims=dims, in_channels=channels, out_channels=channels, base_width=base_width))
    total = 0

    def count(_module, _inputs, output):
        nonlocal total
        total += output.numel()

    hooks = [m.register_forward_hook(count) for m in net.modules() if not any(True for _ in m.children())]
    side = 16
    with torch.no_grad():
        net(torch.empty((1, channels) + (side,) * dims, device="meta"))
    for h in hooks:
        h.remove()
    return total / side**dims


def parameters(dims: int, base_width: int, channels: int = 1) -> int:
    with torch.device("meta"):
        net = UNet(UNetConfig(dims=dims, in_channels=channels, out_channels=channels, base_width=base_width))
    return sum(p.numel() for p in net.parameters())


def step_bytes(dims: int, base_width: int, channels: int, batch: int, patch: tuple[int, ...]) -> int:
    """Estimated peak memory of one training step, in bytes (float32 activations)."""
    pixels = batch * math.prod(patch)
    activations = PASSES * activations_per_pixel(dims, base_width, channels) * pixels * 4
    return int(activations + 16 * parameters(dims, base_width, channels) + OVERHEAD)


def free_bytes(device: torch.device) -> int:
    """Memory a training step may use on ``device``: free GPU memory, or available RAM."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    import psutil

    return int(psutil.virtual_memory().available)


def largest_batch(dims: int, base_width: int, channels: int, patch: tuple[int, ...], budget: int) -> int:
    """The largest batch whose step fits in ``budget`` bytes (0 if not even one patch does)."""
    one = step_bytes(dims, base_width, channels, 1, patch) - OVERHEAD - 16 * parameters(dims, base_width, channels)
    room = budget - (step_bytes(dims, base_width, channels, 1, patch) - one)
    return max(0, int(room // max(one, 1)))


def check_fits(
    dims: int,
    base_width: int,
    channels: int,
    batch: int,
    patch: tuple[int, ...],
    device: torch.device,
    free: int | None = None,
) -> None:
    """Refuse, with the largest batch that fits, a step that would not fit in memory."""
    budget = int(SHARE * (free_bytes(device) if free is None else free))
    need = step_bytes(dims, base_width, channels, batch, patch)
    if need <= budget:
        return
    fits = largest_batch(dims, base_width, channels, patch, budget)
    where = "GPU memory" if device.type == "cuda" else "memory"
    size = "x".join(map(str, patch))
    fix = f"use a batch size of {fits} or less" if fits >= 1 else "use a smaller patch size or a smaller network"
    raise ConfigError(
        f"a batch of {batch} patches of {size} needs about {_gib(need)} of {where} but about "
        f"{_gib(budget)} can be used here; {fix}"
    )


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB"
