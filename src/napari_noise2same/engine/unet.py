"""Residual U-Net of Noise2Same for 2D and 3D images.

The ``paper`` preset follows the official network (Xie, Wang, Ji 2020): a first
3x3 convolution, pre-activation residual blocks (BN-ReLU-conv, twice), two
stride-2 downsamplings by 2x2 convolutions, transposed-convolution upsampling,
skip connections by concatenation, and a BN-ReLU-1x1 head with no global
residual.  Lighter presets keep the same topology with fewer channels.

``groups`` > 1 (one per channel) makes it that many independent networks side by side:
every convolution is grouped, batch norm is per feature channel anyway, and skip connections
are concatenated group by group, so channel ``g`` of the output depends on channel ``g`` of
the input and on group ``g``'s weights only (``groups=1`` is the plain network, unchanged).

This file, with ``geometry.py`` inlined in place of its import, is the network of every
exported bioimage.io package (as ``noise2same_unet.py``, the architecture of its
``pytorch_state_dict`` weights, and scripted as its TorchScript weights), so it imports
nothing but torch, the standard library and ``geometry.py``, and :class:`Noise2SameUNet`
compiles with ``torch.jit.script``.
"""

from dataclasses import asdict, dataclass

import torch
from torch import nn

from .geometry import DEFAULT_PRESET, HALO, PRESETS, RECEPTIVE_RADIUS, SIZE_MULTIPLE  # noqa: F401  # (inlined on export)


@dataclass(frozen=True)
class UNetConfig:
    dims: int = 2
    in_channels: int = 1
    out_channels: int = 1
    base_width: int = PRESETS[DEFAULT_PRESET]
    groups: int = 1  # independent networks side by side, one per channel when > 1

    def __post_init__(self):
        if self.groups < 1 or self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(f"{self.groups} groups do not divide {self.in_channels} channels")

    @classmethod
    def from_preset(cls, preset: str, dims: int = 2, channels: int = 1, independent: bool = False) -> "UNetConfig":
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
        groups = channels if independent else 1
        return cls(dims=dims, in_channels=channels, out_channels=channels, base_width=PRESETS[preset], groups=groups)

    @property
    def width(self) -> int:
        """Feature channels of the first level, all groups together."""
        return self.base_width * self.groups

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

    def __init__(self, dims: int, c_in: int, c_out: int, groups: int = 1):
        super().__init__()
        conv, _, norm = _layers(dims)
        self.norm1 = norm(c_in)
        self.conv1 = conv(c_in, c_out, 3, padding=1, bias=False, groups=groups)
        self.norm2 = norm(c_out)
        self.conv2 = conv(c_out, c_out, 3, padding=1, bias=False, groups=groups)
        self.projects = c_in != c_out
        self.project = conv(c_in, c_out, 1, bias=False, groups=groups) if self.projects else nn.Identity()
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.norm1(x))
        shortcut = self.project(h) if self.projects else x
        h = self.conv1(h)
        h = self.conv2(self.act(self.norm2(h)))
        return h + shortcut


class UNet(nn.Module):
    def __init__(self, config: UNetConfig):
        super().__init__()
        self.config = config
        conv, convT, norm = _layers(config.dims)
        w, d, g = config.width, config.dims, config.groups
        self.groups = g
        self.stem = conv(config.in_channels, w, 3, padding=1, bias=False, groups=g)
        self.enc1 = ResBlock(d, w, w, g)
        self.down1 = conv(w, 2 * w, 2, stride=2, groups=g)
        self.enc2 = ResBlock(d, 2 * w, 2 * w, g)
        self.down2 = conv(2 * w, 4 * w, 2, stride=2, groups=g)
        self.bottom = ResBlock(d, 4 * w, 4 * w, g)
        self.up2 = convT(4 * w, 2 * w, 2, stride=2, groups=g)
        self.dec2 = ResBlock(d, 4 * w, 2 * w, g)
        self.up1 = convT(2 * w, w, 2, stride=2, groups=g)
        self.dec1 = ResBlock(d, 2 * w, w, g)
        self.head = nn.Sequential(norm(w), nn.ReLU(inplace=True), conv(w, config.out_channels, 1, groups=g))
        for up in (self.up1, self.up2):
            _init_as_nearest_upsampling(up)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.unet(x)

    def unet(self, x: torch.Tensor) -> torch.Tensor:
        """The network on standardised input whose sides are multiples of ``SIZE_MULTIPLE``."""
        return self.head(self.features(x))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last level's features, before the head (the spread head of engine/spread.py reads them)."""
        s1 = self.enc1(self.stem(x))
        s2 = self.enc2(self.down1(s1))
        h = self.bottom(self.down2(s2))
        h = self.dec2(self._join(self.up2(h), s2))
        return self.dec1(self._join(self.up1(h), s1))

    def _join(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """The skip connection: ``a`` and ``b`` concatenated along channels, group by group."""
        if self.groups == 1:
            return torch.cat([a, b], dim=1)
        n, g = a.size(0), self.groups
        spatial = list(a.shape[2:])
        joined = torch.cat([a.reshape([n, g, -1] + spatial), b.reshape([n, g, -1] + spatial)], dim=2)
        return joined.reshape([n, -1] + spatial)


class Noise2SameUNet(UNet):
    """The U-Net as a self-contained denoiser, for bioimage.io packages and plain PyTorch.

    Each image (batch entry and channel) is standardised by its own mean and standard
    deviation, as napari-noise2same's predictor does; sides that are not a multiple of
    ``SIZE_MULTIPLE`` are mirrored at their end up to one (as numpy's "symmetric") and the
    output cropped back; the result is in the input's intensities.  Inputs are (batch,
    channel, [z,] y, x).  ``base_width``: 16, 32 and 96 for the presets tiny, fast and paper;
    ``groups``: the channels for one network per channel; the state dict of the engine's
    :class:`UNet` of the same settings loads unchanged.
    """

    spatial: list[int]
    multiple: int

    def __init__(self, dims: int = 2, channels: int = 1, base_width: int = 16, groups: int = 1):
        super().__init__(
            UNetConfig(dims=dims, in_channels=channels, out_channels=channels, base_width=base_width, groups=groups)
        )
        self.spatial = list(range(2, 2 + dims))
        self.multiple = SIZE_MULTIPLE

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float()
        mean = x.mean(dim=self.spatial, keepdim=True)
        std = (x - mean).square().mean(dim=self.spatial, keepdim=True).sqrt()
        std = torch.where(std > 0, std, torch.ones_like(std))  # a constant tile stays constant
        h = (x - mean) / std
        sizes: list[int] = []
        for d in self.spatial:
            # the last multiple - 1 planes mirrored onto the end, then cut at the next multiple:
            # the same as mirroring only the planes needed, in a form whose shapes torch.export
            # follows symbolically (so the ONNX graph keeps batch and sizes dynamic in 3D too)
            n = h.size(d)
            sizes.append(n)
            h = torch.cat([h, h.narrow(d, n - (self.multiple - 1), self.multiple - 1).flip([d])], dim=d)
            h = h.narrow(d, 0, (n + self.multiple - 1) // self.multiple * self.multiple)
        h = self.unet(h)
        for i, d in enumerate(self.spatial):
            h = h.narrow(d, 0, sizes[i])
        return h * std + mean


@torch.no_grad()
def _init_as_nearest_upsampling(up: nn.Module) -> None:
    """Start a 2x2 stride-2 transposed convolution as a 1x1 convolution followed by nearest
    upsampling (ICNR initialisation, Aitken et al. 2017): the same layer, but free of the
    checkerboard pattern that a random start leaves in the first few hundred steps."""
    weight = up.weight
    assert isinstance(weight, torch.Tensor)
    first = weight[(slice(None), slice(None)) + (slice(0, 1),) * (weight.ndim - 2)]
    weight.copy_(first.expand_as(weight))


def channels_last(dims: int) -> torch.memory_format:
    """Channels-last layout: about 25 % faster convolutions on the CPU (oneDNN) and on GPUs."""
    return torch.channels_last if dims == 2 else torch.channels_last_3d


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
