"""Residual U-Net of Noise2Same for 2D and 3D images.

The ``paper`` preset follows the official network (Xie, Wang, Ji 2020): a first
3x3 convolution, pre-activation residual blocks (BN-ReLU-conv, twice), two
stride-2 downsamplings by 2x2 convolutions, transposed-convolution upsampling,
skip connections by concatenation, and a BN-ReLU-1x1 head with no global
residual.  Lighter presets keep the same topology with fewer channels.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

#: base width (channels at full resolution) of each preset; widths double per level
PRESETS: dict[str, int] = {"paper": 96, "fast": 32, "tiny": 16}
DEFAULT_PRESET = "tiny"  # what preset "auto" trains on a CPU (docs/training.md); the benchmarks' default

#: spatial sizes fed to the network must be multiples of this (two downsamplings)
SIZE_MULTIPLE = 4


@dataclass(frozen=True)
class UNetConfig:
    dims: int = 2
    in_channels: int = 1
    out_channels: int = 1
    base_width: int = PRESETS[DEFAULT_PRESET]

    @classmethod
    def from_preset(cls, preset: str, dims: int = 2, channels: int = 1) -> "UNetConfig":
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
        return cls(dims=dims, in_channels=channels, out_channels=channels, base_width=PRESETS[preset])

    def to_dict(self) -> dict:
        return asdict(self)


def _layers(dims: int):
    if dims == 2:
        return nn.Conv2d, nn.ConvTranspose2d, nn.BatchNorm2d
    if dims == 3:
        return nn.Conv3d, nn.ConvTranspose3d, nn.BatchNorm3d
    raise ValueError(f"dims must be 2 or 3, not {dims}")


class ResBlock(nn.Module):
    """Pre-activation residual block; a 1x1 projection when the width changes."""

    def __init__(self, dims: int, c_in: int, c_out: int):
        super().__init__()
        conv, _, norm = _layers(dims)
        self.norm1 = norm(c_in)
        self.conv1 = conv(c_in, c_out, 3, padding=1, bias=False)
        self.norm2 = norm(c_out)
        self.conv2 = conv(c_out, c_out, 3, padding=1, bias=False)
        self.project = conv(c_in, c_out, 1, bias=False) if c_in != c_out else None
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.norm1(x))
        shortcut = x if self.project is None else self.project(h)
        h = self.conv1(h)
        h = self.conv2(self.act(self.norm2(h)))
        return h + shortcut


class UNet(nn.Module):
    def __init__(self, config: UNetConfig):
        super().__init__()
        self.config = config
        conv, convT, norm = _layers(config.dims)
        w, d = config.base_width, config.dims
        self.stem = conv(config.in_channels, w, 3, padding=1, bias=False)
        self.enc1 = ResBlock(d, w, w)
        self.down1 = conv(w, 2 * w, 2, stride=2)
        self.enc2 = ResBlock(d, 2 * w, 2 * w)
        self.down2 = conv(2 * w, 4 * w, 2, stride=2)
        self.bottom = ResBlock(d, 4 * w, 4 * w)
        self.up2 = convT(4 * w, 2 * w, 2, stride=2)
        self.dec2 = ResBlock(d, 4 * w, 2 * w)
        self.up1 = convT(2 * w, w, 2, stride=2)
        self.dec1 = ResBlock(d, 2 * w, w)
        self.head = nn.Sequential(norm(w), nn.ReLU(inplace=True), conv(w, config.out_channels, 1))
        for up in (self.up1, self.up2):
            _init_as_nearest_upsampling(up)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s1 = self.enc1(self.stem(x))
        s2 = self.enc2(self.down1(s1))
        h = self.bottom(self.down2(s2))
        h = self.dec2(torch.cat([self.up2(h), s2], dim=1))
        h = self.dec1(torch.cat([self.up1(h), s1], dim=1))
        return self.head(h)

    @property
    def context(self) -> int:
        """Pixels of context each output pixel needs on either side (receptive-field radius)."""
        return 24


@torch.no_grad()
def _init_as_nearest_upsampling(up: nn.Module) -> None:
    """Start a 2x2 stride-2 transposed convolution as a 1x1 convolution followed by nearest
    upsampling (ICNR initialisation, Aitken et al. 2017): the same layer, but free of the
    checkerboard pattern that a random start leaves in the first few hundred steps."""
    first = up.weight[(slice(None), slice(None)) + (slice(0, 1),) * (up.weight.ndim - 2)]
    up.weight.copy_(first.expand_as(up.weight))


def channels_last(dims: int) -> torch.memory_format:
    """Channels-last layout: about 25 % faster convolutions on the CPU (oneDNN) and on GPUs."""
    return torch.channels_last if dims == 2 else torch.channels_last_3d


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
