"""One evaluation of the training objective on a batch: mask it, run the network, score.

Training (engine/trainer.py) and validation compute the same thing; they differ in the
generator that draws the mask, in train/eval mode, and in mixed precision.
"""

from __future__ import annotations

import torch

from .config import TrainConfig
from .loss import LossTerms, blindspot_loss, noise2same_loss
from .masking import apply_mask, stratified_mask
from .spread import spread_nll
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
    spread: torch.nn.Module | None = None,
) -> LossTerms:
    """The loss of ``config.method`` on the batch ``x``: a stratified mask of ``mask_percent``
    drawn with ``generator``, its pixels (each with the footprint ``struct_mask`` around it,
    engine/struct_mask.py) replaced as ``config`` says, then the Noise2Same loss (f(x) and
    f(x_J), the invariance term over the mask's own pixels) or the blind-spot loss (f(x_J)
    only).  The network runs under autocast to ``amp_dtype`` when one is given; the loss is
    computed in float32.  With a ``spread`` head (engine/spread.py), ``terms.spread`` is its
    likelihood loss on the masked pass's detached features (not part of ``terms.total``)."""
    mask = stratified_mask(tuple(x.shape), mask_percent, device=x.device, generator=generator)
    replaced = extend(mask, struct_mask)
    masked = apply_mask(x, replaced, config.replacement, config.mask_sigma, generator=generator)
    with torch.autocast(x.device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
        if config.method == "blindspot":
            out_masked, features = _forward(net, masked)
            terms = blindspot_loss(x, out_masked, mask)
        elif config.forward == "joint":
            both, features = _forward(net, torch.cat([x, masked]))
            out, out_masked = both.chunk(2)
            features = features.chunk(2)[1] if features is not None else None
            terms = noise2same_loss(x, out, out_masked, mask, lambda_inv, per_channel)
        else:
            out = net(x).float()
            out_masked, features = _forward(net, masked)
            terms = noise2same_loss(x, out, out_masked, mask, lambda_inv, per_channel)
        if spread is not None and features is not None:
            terms.spread = spread_nll(spread(features.detach()), out_masked, x, mask)
        return terms


def _forward(net: torch.nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The network's output (float32) and, where it exposes them (engine/unet.py), its last features."""
    features = getattr(net, "features", None)
    if features is None:
        return net(x).float(), None
    h = features(x)
    head = getattr(net, "head")  # noqa: B009  # (an nn.Module attribute: typed as a Tensor or Module)
    return head(h).float(), h
