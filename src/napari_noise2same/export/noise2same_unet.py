"""Noise2Same's residual U-Net with its input normalisation, for bioimage.io model packages.

This file is shipped inside every exported package as the architecture of the
``pytorch_state_dict`` weights, so it must stay self-contained: it imports only
torch (no napari-noise2same).  The layers and parameter names are those of
``napari_noise2same.engine.unet.UNet``, so the engine's state dict loads here
unchanged; the tests check that both networks give the same output.

The module standardises each image (each batch entry and channel) by its own
mean and standard deviation, runs the U-Net and maps the result back to the
input's intensities, as napari-noise2same's predictor does.  It is written so
that ``torch.jit.script`` compiles it (the package's TorchScript weights are
this module, scripted); inputs are (batch, channel, [z,] y, x) of any size of at
least 3 per spatial axis.
"""

from typing import List

import torch
from torch import nn

#: the U-Net downsamples twice, so it runs on sides that are multiples of 4; other sizes are
#: padded at the end by mirror symmetry (as numpy's "symmetric") and the output cropped back
MULTIPLE = 4


def _layers(dims: int):
    if dims == 2:
        return nn.Conv2d, nn.ConvTranspose2d, nn.BatchNorm2d
    if dims == 3:
        return nn.Conv3d, nn.ConvTranspose3d, nn.BatchNorm3d
    raise ValueError(f"dims must be 2 or 3, not {dims}")


class ResBlock(nn.Module):
    """Pre-activation residual block (BN-ReLU-conv, twice); a 1x1 projection when the width changes."""

    def __init__(self, dims: int, c_in: int, c_out: int):
        super().__init__()
        conv, _, norm = _layers(dims)
        self.norm1 = norm(c_in)
        self.conv1 = conv(c_in, c_out, 3, padding=1, bias=False)
        self.norm2 = norm(c_out)
        self.conv2 = conv(c_out, c_out, 3, padding=1, bias=False)
        self.project = conv(c_in, c_out, 1, bias=False) if c_in != c_out else nn.Identity()
        self.projects = c_in != c_out
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.norm1(x))
        shortcut = self.project(h) if self.projects else x
        h = self.conv1(h)
        h = self.conv2(self.act(self.norm2(h)))
        return h + shortcut


class Noise2SameUNet(nn.Module):
    """Denoiser: per-image standardisation, two-level residual U-Net, back to input units.

    ``dims`` 2 or 3, ``channels`` in and out, ``base_width`` the channels at full resolution
    (16, 32 and 96 for napari-noise2same's presets tiny, fast and paper).
    """

    def __init__(self, dims: int = 2, channels: int = 1, base_width: int = 16):
        super().__init__()
        conv, convT, norm = _layers(dims)
        w = base_width
        self.spatial: List[int] = list(range(2, 2 + dims))
        self.multiple: int = MULTIPLE
        self.stem = conv(channels, w, 3, padding=1, bias=False)
        self.enc1 = ResBlock(dims, w, w)
        self.down1 = conv(w, 2 * w, 2, stride=2)
        self.enc2 = ResBlock(dims, 2 * w, 2 * w)
        self.down2 = conv(2 * w, 4 * w, 2, stride=2)
        self.bottom = ResBlock(dims, 4 * w, 4 * w)
        self.up2 = convT(4 * w, 2 * w, 2, stride=2)
        self.dec2 = ResBlock(dims, 4 * w, 2 * w)
        self.up1 = convT(2 * w, w, 2, stride=2)
        self.dec1 = ResBlock(dims, 2 * w, w)
        self.head = nn.Sequential(norm(w), nn.ReLU(), conv(w, channels, 1))

    def unet(self, x: torch.Tensor) -> torch.Tensor:
        """The network on standardised input."""
        s1 = self.enc1(self.stem(x))
        s2 = self.enc2(self.down1(s1))
        h = self.bottom(self.down2(s2))
        h = self.dec2(torch.cat([self.up2(h), s2], dim=1))
        h = self.dec1(torch.cat([self.up1(h), s1], dim=1))
        return self.head(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float()
        mean = x.mean(dim=self.spatial, keepdim=True)
        std = (x - mean).square().mean(dim=self.spatial, keepdim=True).sqrt()
        std = torch.where(std > 0, std, torch.ones_like(std))  # a constant tile stays constant
        h = (x - mean) / std
        sizes: List[int] = []
        for d in self.spatial:  # mirror the end of each side up to a multiple of 4 (two downsamplings)
            n = h.size(d)
            sizes.append(n)
            extra = (self.multiple - n % self.multiple) % self.multiple
            if extra > 0:
                h = torch.cat([h, h.narrow(d, n - extra, extra).flip([d])], dim=d)
        h = self.unet(h)
        for i, d in enumerate(self.spatial):
            h = h.narrow(d, 0, sizes[i])
        return h * std + mean
