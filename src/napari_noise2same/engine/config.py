"""Training settings, with the official Noise2Same values as defaults where they apply.

Every value is checked when the settings are made, before any work starts, so a bad one
(zero, negative, absurdly large, not a number) gets one message naming the allowed range.
``preset="auto"``, ``batch_size=None``, ``mask_percent=None`` and ``learning_rate=None``
leave the network, the batch, the mask and the learning rate to :mod:`.auto`, which chooses
them from the device, the data and the budget.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from ..errors import ConfigError
from ..text import number
from .geometry import PRESETS
from .predict_options import ESTIMATES
from .schedule import SCHEDULES
from .struct_mask import parse as parse_struct_mask

AUTO = "auto"
#: the losses (engine/loss.py) and the replacements of J (engine/masking.py)
METHODS = ("noise2same", "blindspot")
REPLACEMENTS = ("gaussian", "donut")
#: "joint": one network sees all channels; "independent": one network per channel (engine/unet.py's groups)
CHANNEL_MODES = ("joint", "independent")
#: the paper's batch on a GPU; on the CPU a smaller one trains more steps per minute
GPU_BATCH = {2: 64, 3: 4}
CPU_BATCH = {2: 16, 3: 2}
#: the paper's mask percent and this project's learning rate (the official 4e-4 gave 0.2-0.4 dB
#: less at 1-3 min), for every network but ``tiny``
PAPER_MASK_PERCENT, LEARNING_RATE = 0.5, 1e-3
#: what the ``tiny`` network (the CPU's) trains best with in a short run, up to SHORT_RUN_SECONDS:
#: a denser mask and a faster rate (measured at 1 and 3 min on three datasets, docs/training.md)
TINY_MASK_PERCENT, TINY_LEARNING_RATE, SHORT_RUN_SECONDS = 2.0, 2e-3, 180.0


@dataclass(frozen=True)
class Budget:
    """What a run may spend: steps, seconds, or both (whichever ends first)."""

    steps: int | None = None
    seconds: float | None = None


#: what auto assumes when it is not told the budget (the command line's default)
DEFAULT_BUDGET = Budget(seconds=300.0)
#: the largest values accepted: beyond them a setting is a typing mistake, not a choice
MAX_PATCH, MAX_BATCH, MAX_LAMBDA, MAX_SECONDS = 1024, 4096, 100.0, 30 * 24 * 3600


@dataclass(frozen=True)
class Range:
    """The values a number setting accepts (``low_open``/``high_open``: the end itself is not)."""

    low: float
    high: float | None
    low_open: bool = False
    high_open: bool = False


#: every number setting's range: the checks below and the widgets' spin boxes use these
RANGES = {
    "patch_size": Range(8, MAX_PATCH),
    "batch_size": Range(1, MAX_BATCH),
    "mask_percent": Range(0, 50, low_open=True),
    "lambda_inv": Range(0, MAX_LAMBDA),
    "mask_sigma": Range(0, 10, low_open=True),
    "learning_rate": Range(0, 1, low_open=True),
    "lr_halve_every": Range(1, None),
    "val_fraction": Range(0, 0.5, high_open=True),
    "val_every": Range(1, None),
    "seed": Range(0, 2**32 - 1),
}


@dataclass
class TrainConfig:
    dims: int = 2
    preset: str = AUTO  # a network of PRESETS, or "auto": chosen from device, data and budget
    patch_size: int = 64  # YX side; 3D patches are (min(16, Z), P, P)
    batch_size: int | None = None  # None: chosen by auto (paper's 64 / 4 on a GPU; 16 / 2 on the CPU)
    mask_percent: float | None = None  # None: chosen by auto (the paper's 0.5; 2 for short runs of tiny)
    lambda_inv: float | str = AUTO  # "auto": 2 x the estimated noise std, at most the paper's 2 (engine/noise.py)
    replacement: str = "gaussian"
    mask_sigma: float = 0.2
    struct_mask: str = AUTO  # "auto": from the noise's autocorrelation; "off"; or a footprint "HxW" (struct_mask.py)
    method: str = "noise2same"
    learning_rate: float | None = None  # None: chosen by auto (1e-3; 2e-3 for short runs of tiny)
    lr_schedule: str = "tail"  # decay over each run's last 30 %; "step" is the official one (engine/schedule.py)
    lr_halve_every: int = 5000  # for the "step" schedule (the official one)
    val_fraction: float = 0.05
    val_every: int = 100
    stop_when_done: bool = False  # end early (after a short decay) once the validation loss stops improving
    keep_best: bool = False  # end a run with the weights of its lowest validation loss (engine/best.py; opt-in)
    forward: str = "separate"  # "separate": two train-mode passes (official); "joint": one pass on [x, x_J]
    amp: bool = True  # mixed precision on CUDA
    channel_mode: str = "joint"  # "independent": one network per channel, each trained on its channel alone
    augment: bool = True  # random 90-degree rotations and flips in YX; off for data with a preferred direction
    #: the model's default estimate: "auto" (chosen at the end of training, engine/estimate.py), "n2s", "posterior"
    estimate: str = AUTO
    seed: int | None = None

    def __post_init__(self):
        _one_of("dims", self.dims, (2, 3))
        _one_of("network preset", self.preset, (*PRESETS, AUTO))
        _one_of("method", self.method, METHODS)
        _one_of("replacement", self.replacement, REPLACEMENTS)
        _one_of("learning-rate schedule", self.lr_schedule, SCHEDULES)
        _one_of("forward", self.forward, ("separate", "joint"))
        _one_of("channel mode", self.channel_mode, CHANNEL_MODES)
        _one_of("estimate", self.estimate, ESTIMATES)
        if not isinstance(self.augment, bool):
            raise ConfigError(f"augment must be true or false, not {self.augment!r}")
        _integer("patch size", self.patch_size, RANGES["patch_size"])
        if self.batch_size is not None:
            _integer("batch size", self.batch_size, RANGES["batch_size"])
        if self.mask_percent is not None:
            _number("mask percent", self.mask_percent, RANGES["mask_percent"])
        if self.lambda_inv != AUTO:
            _number("lambda_inv", self.lambda_inv, RANGES["lambda_inv"], also="or 'auto'")
        _number("mask sigma", self.mask_sigma, RANGES["mask_sigma"])
        try:
            parsed = parse_struct_mask(self.struct_mask)
        except ValueError as e:
            raise ConfigError(str(e)) from None
        if isinstance(parsed, tuple) and parsed != (1, 1) and self.replacement != "gaussian":
            raise ConfigError(
                "a structured mask needs the gaussian replacement (the donut mean reads the correlated "
                "neighbours it should hide); use --replacement gaussian or --struct-mask off"
            )
        if self.learning_rate is not None:
            _number("learning rate", self.learning_rate, RANGES["learning_rate"])
        _integer("learning-rate halving interval (steps)", self.lr_halve_every, RANGES["lr_halve_every"])
        _number("validation fraction", self.val_fraction, RANGES["val_fraction"])
        _integer("validation interval (steps)", self.val_every, RANGES["val_every"])
        if self.seed is not None:
            _integer("seed", self.seed, RANGES["seed"])

    @property
    def is_auto(self) -> bool:
        """Whether anything (network, batch, mask, learning rate) is left to :mod:`.auto`."""
        return self.preset == AUTO or None in (self.batch_size, self.mask_percent, self.learning_rate)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        d = {"struct_mask": "off", **d}  # models saved before structured masks trained without one
        return cls(**{k: v for k, v in d.items() if k in known})


def check_budget(steps: int | None, seconds: float | None) -> None:
    """A training budget: a positive number of steps and/or seconds (at most a month)."""
    if steps is None and seconds is None:
        raise ConfigError("give a training budget: a number of steps or a time")
    if steps is not None:
        _integer("number of steps", steps, Range(1, None))
    if seconds is not None:
        _number("training time (seconds)", seconds, Range(0, MAX_SECONDS, low_open=True))


def _one_of(name, value, allowed) -> None:
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(map(str, allowed))}, not {value!r}")


def _integer(name, value, span: Range) -> None:
    if isinstance(value, bool) or not isinstance(value, int) and not (isinstance(value, float) and value.is_integer()):
        raise ConfigError(f"{name} must be a whole number, not {value!r}")
    _number(name, value, span, kind="a whole number")


def _number(name, value, span: Range, *, also="", kind="a number") -> None:
    """``value`` within ``span``."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value > span.low if span.low_open else value >= span.low)
    ok = ok and (span.high is None or (value < span.high if span.high_open else value <= span.high))
    if not ok:
        words = f"{'more than' if span.low_open else 'at least'} {number(span.low)}"
        if span.high is not None:
            words += f" and {'less than' if span.high_open else 'at most'} {number(span.high)}"
        raise ConfigError(f"{name} must be {kind} {words}{' ' + also if also else ''}, not {value!r}")
