"""Training settings, with the official Noise2Same values as defaults where they apply."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from .loss import METHODS
from .masking import REPLACEMENTS
from .unet import DEFAULT_PRESET, PRESETS


@dataclass
class TrainConfig:
    dims: int = 2
    preset: str = DEFAULT_PRESET
    patch_size: int = 64  # YX side; 3D patches are (min(16, Z), P, P)
    batch_size: int | None = None  # None: 64 (2D) / 4 (3D) on a GPU, 16 / 2 on the CPU
    mask_percent: float = 0.5
    lambda_inv: float | str = 2.0  # or "auto": 2 x the estimated noise std (engine/noise.py)
    replacement: str = "gaussian"
    mask_sigma: float = 0.2
    method: str = "noise2same"
    learning_rate: float = 4e-4
    lr_halve_every: int = 5000
    val_fraction: float = 0.05
    val_every: int = 100
    forward: str = "separate"  # "separate": two train-mode passes (official); "joint": one pass on [x, x_J]
    amp: bool = True  # mixed precision on CUDA
    seed: int | None = None

    def __post_init__(self):
        if self.dims not in (2, 3):
            raise ValueError(f"dims must be 2 or 3, not {self.dims}")
        if self.preset not in PRESETS:
            raise ValueError(f"preset must be one of {', '.join(PRESETS)}, not {self.preset!r}")
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, not {self.method!r}")
        if self.replacement not in REPLACEMENTS:
            raise ValueError(f"replacement must be one of {', '.join(REPLACEMENTS)}, not {self.replacement!r}")
        if not 0 < self.mask_percent <= 50:
            raise ValueError(f"mask_percent must be in (0, 50], not {self.mask_percent}")
        if self.lambda_inv != "auto" and not (isinstance(self.lambda_inv, (int, float)) and self.lambda_inv >= 0):
            raise ValueError(f"lambda_inv must be a number >= 0 or 'auto', not {self.lambda_inv!r}")
        if self.forward not in ("separate", "joint"):
            raise ValueError(f"forward must be 'separate' or 'joint', not {self.forward!r}")
        if not 0 <= self.val_fraction < 0.5:
            raise ValueError(f"val_fraction must be in [0, 0.5), not {self.val_fraction}")
        if self.patch_size < 8:
            raise ValueError(f"patch_size must be at least 8, not {self.patch_size}")

    def batch_size_for(self, device_type: str) -> int:
        if self.batch_size:
            return int(self.batch_size)
        if device_type == "cpu":
            return 16 if self.dims == 2 else 2
        return 64 if self.dims == 2 else 4

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})
