"""One evaluation of the training objective on a batch: mask it, run the network, score.

Training (engine/trainer.py) and validation compute the same thing; they differ in the
generator that draws the mask, in train/eval mode, and in mixed precision.
"""

from __future__ import annotations

import torch

from .config import TrainConfig
from .loss import LossTerms, blindspot_loss, noise2same_loss
from .masking import apply_mask, stratified_mask
from .struct_mask import extend


def masked_loss(
    net: torch.nn.Module,
    x: torch.Tensor,
    config: TrainConfig,
    mask_percent: float,
    lambda_inv: float,
    per_channel: bool,
    generator: torch.Generator,
    amp_dtype: torch.dtype | None = None,
    struct_mask: tuple[int, int] | None = None,
) -> LossTerms:
    """The loss of ``config.method`` on the batch ``x``: a stratified mask of ``mask_percent``
    drawn with ``generator``, its pixels (each with the footprint ``struct_mask`` around it,
    engine/struct_mask.py) replaced as ``config`` says, then the Noise2Same loss (f(x) and
    f(x_J), the invariance term over the mask's own pixels) or the blind-spot loss (f(x_J)
    only).  The network runs under autocast to ``amp_dtype`` when one is given; the loss is
    computed in float32."""
    mask = stratified_mask(tuple(x.shape), mask_percent, device=x.device, generator=generator)
    replaced = extend(mask, struct_mask)
    masked = apply_mask(x, replaced, config.replacement, config.mask_sigma, generator=generator)
    with torch.autocast(x.device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
        if config.method == "blindspot":
            return blindspot_loss(x, net(masked).float(), mask)
        if config.forward == "joint":
            out, out_masked = net(torch.cat([x, masked])).float().chunk(2)
        else:
            out = net(x).float()
            out_masked = net(masked).float()
        return noise2same_loss(x, out, out_masked, mask, lambda_inv, per_channel)
