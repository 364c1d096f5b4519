"""Choosing the masked set J and replacing its pixels, on whatever device the batch is.

J is sampled stratified, as in Noise2Void and Noise2Same: the patch is cut into
boxes of side (100 / mask_percent) ** (1 / ndim) and one random pixel is drawn
in each box, independently per sample and channel.  The masked pixels are then
replaced by Gaussian noise (the paper's default) or by the "donut" mean of
their neighbours, which excludes the pixel itself.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .config import REPLACEMENTS


def box_side(mask_percent: float, ndim: int) -> float:
    if not 0 < mask_percent <= 100:
        raise ValueError(f"mask_percent must be in (0, 100], not {mask_percent}")
    return (100.0 / mask_percent) ** (1.0 / ndim)


def stratified_mask(
    shape: tuple[int, ...],
    mask_percent: float,
    *,
    device: torch.device | str = "cpu",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """A {0, 1} float mask of ``shape`` (N, C, *spatial) with one pixel per box.

    Boxes that stick out of the patch draw their pixel inside the patch only
    when it lands there, so the fraction stays close to ``mask_percent``.
    """
    n, c, *spatial = shape
    ndim = len(spatial)
    side = box_side(mask_percent, ndim)
    boxes = [math.ceil(s / side - 1e-6) for s in spatial]
    index = torch.zeros((n, c, *boxes), dtype=torch.long, device=device)
    inside = torch.ones((n, c, *boxes), dtype=torch.bool, device=device)
    stride = 1
    for axis in reversed(range(ndim)):
        grid_shape = [1, 1] + [1] * ndim
        grid_shape[2 + axis] = boxes[axis]
        start = torch.arange(boxes[axis], device=device, dtype=torch.float32).view(grid_shape) * side
        offset = torch.rand((n, c, *boxes), device=device, generator=generator) * side
        coord = (start + offset).floor().long()
        inside &= coord < spatial[axis]
        index += coord.clamp(max=spatial[axis] - 1) * stride
        stride *= spatial[axis]
    mask = torch.zeros((n, c, stride), dtype=torch.float32, device=device)
    flat_index = index.view(n, c, -1)
    # add, not assign: a box outside the patch points at a clamped pixel and must not erase it
    mask.scatter_add_(2, flat_index, inside.view(n, c, -1).float())
    return mask.clamp_(max=1.0).view(shape)


def donut_kernel(ndim: int, channels: int, device=None) -> torch.Tensor:
    """Neighbour weights 1/d^2 over the 3^ndim neighbourhood, centre 0, summing to 1.

    In 2D this is [[.5, 1, .5], [1, 0, 1], [.5, 1, .5]] / 6.
    """
    grids = torch.meshgrid(*[torch.arange(-1, 2, dtype=torch.float32)] * ndim, indexing="ij")
    d2 = torch.stack([g**2 for g in grids]).sum(dim=0)
    weights = torch.where(d2 > 0, 1.0 / d2.clamp(min=1), torch.zeros(()))
    weights = weights / weights.sum()
    return weights.expand(channels, 1, *([3] * ndim)).contiguous().to(device)


def donut_mean(x: torch.Tensor) -> torch.Tensor:
    """Per-channel weighted mean of each pixel's neighbours (reflect padding)."""
    ndim = x.ndim - 2
    kernel = donut_kernel(ndim, x.shape[1], device=x.device).to(x.dtype)
    padded = F.pad(x, [1] * (2 * ndim), mode="reflect")
    conv = F.conv2d if ndim == 2 else F.conv3d
    return conv(padded, kernel, groups=x.shape[1])


def apply_mask(
    x: torch.Tensor,
    mask: torch.Tensor,
    replacement: str = "gaussian",
    sigma: float = 0.2,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """x_J: x with the pixels where ``mask`` is 1 replaced."""
    if replacement == "gaussian":
        fill = torch.randn(x.shape, device=x.device, dtype=x.dtype, generator=generator) * sigma
    elif replacement == "donut":
        fill = donut_mean(x)
    else:
        raise ValueError(f"replacement must be one of {REPLACEMENTS}, not {replacement!r}")
    return torch.where(mask > 0, fill, x)
