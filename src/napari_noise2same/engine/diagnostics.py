"""The paper's J-invariance measure D(f) (Xie et al. 2020, eq. 5).

D(f) is the mean squared change of the normalised output on a sparse set J
(about 0.01 % of the pixels, stratified) when the input pixels of J are
replaced by Gaussian noise of sigma 0.5.  A blind-spot network has D = 0; a
Noise2Same network is allowed some dependence on its own pixel, and D shows how
much it took.
"""

from __future__ import annotations

import numpy as np
import torch

from .masking import apply_mask, stratified_mask


@torch.no_grad()
def invariance_measure(
    net: torch.nn.Module,
    patches: np.ndarray,
    device: torch.device | str = "cpu",
    mask_percent: float = 0.01,
    sigma: float = 0.5,
    repeats: int = 8,
    seed: int = 0,
) -> float:
    was_training = net.training
    net.eval()
    gen = torch.Generator(device=device).manual_seed(seed)
    x = torch.as_tensor(patches, device=device)
    reference = net(x)
    total, count = 0.0, 0.0
    for _ in range(repeats):
        mask = stratified_mask(tuple(x.shape), mask_percent, device=device, generator=gen)
        changed = net(apply_mask(x, mask, "gaussian", sigma, generator=gen))
        total += float(torch.sum(mask * (changed - reference) ** 2))
        count += float(mask.sum())
    net.train(was_training)
    return total / max(count, 1.0)
