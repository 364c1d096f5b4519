"""The one training loop behind the GUI, the command line and the tests.

It reports a :class:`TrainEvent` after every step to a callback, checks a stop
flag every step, and keeps its state (weights, optimiser, schedule, step), so a
second call to :meth:`Trainer.train` continues where the first one stopped.
"""

from __future__ import annotations

import copy
import datetime
import math
import threading
import time
from dataclasses import asdict, dataclass, replace
from typing import Callable

import numpy as np
import torch

from .. import __version__
from .config import TrainConfig
from .data import TrainingData
from .devices import resolve_device
from .diagnostics import invariance_measure
from .loss import LossTerms, blindspot_loss, noise2same_loss
from .masking import apply_mask, stratified_mask
from .model import Noise2SameModel
from .noise import noise_std
from .unet import UNet, UNetConfig, channels_last


@dataclass
class TrainEvent:
    step: int  # global step just finished (1-based)
    target_step: int | None  # step at which this run ends, when budgeted by steps
    loss: float
    reconstruction: float
    invariance: float
    val_loss: float | None  # set on the steps where validation ran
    steps_per_s: float
    elapsed_s: float  # seconds in this run
    eta_s: float | None
    learning_rate: float

    def to_dict(self) -> dict:
        return asdict(self)


class Trainer:
    def __init__(
        self,
        data: TrainingData,
        config: TrainConfig | None = None,
        *,
        axes: str = "YX",
        device: str | torch.device = "auto",
        model: Noise2SameModel | None = None,
    ):
        self.config = config or TrainConfig(dims=data.dims)
        self.data = data
        self.axes = axes
        seed = self.config.seed
        self.rng = np.random.default_rng(seed)
        if seed is not None:
            torch.manual_seed(seed)
        if model is not None:
            if model.dims != data.dims or model.channels != data.channels:
                raise ValueError(
                    f"the model is {model.dims}D with {model.channels} channel(s) but the data is "
                    f"{data.dims}D with {data.channels}; start a new model for this data"
                )
            # fine-tuning: the network (a copy: the model it starts from stays as it was) defines the preset
            self.net = copy.deepcopy(model.net)
            self.config = replace(self.config, dims=model.dims, preset=model.train_config.preset)
            self.resumed_from = {k: model.summary.get(k) for k in ("steps", "total_steps", "date", "final_loss")}
        else:
            self.net = UNet(UNetConfig.from_preset(self.config.preset, data.dims, data.channels))
            self.resumed_from = None
        self.memory_format = channels_last(data.dims)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=self.config.learning_rate)
        self.scheduler = torch.optim.lr_scheduler.StepLR(self.optimizer, self.config.lr_halve_every, gamma=0.5)
        self._use_device(resolve_device(device), seed if seed is not None else int(self.rng.integers(2**62)))
        self.batch_size = self.config.batch_size_for(self.device.type)
        self.step = 0
        self.seconds = 0.0
        self.history: list[dict] = []
        self._stop = threading.Event()
        self._noise_std: float | None = None
        self._val = data.validation_patches(seed=0)

    def reconfigure(self, config: TrainConfig, device: str | torch.device | None = None) -> None:
        """Change settings between runs of the same model: loss, learning rate, batch and patch
        size, validation fraction, device.  The network's dims and preset cannot change."""
        if (config.dims, config.preset) != (self.config.dims, self.config.preset):
            raise ValueError("dims and preset define the network: start a new model to change them")
        if (config.patch_size, config.val_fraction) != (self.config.patch_size, self.config.val_fraction):
            self.data = self.data.resampled(config.patch_size, config.val_fraction)
            self._val = self.data.validation_patches(seed=0)
            self._noise_std = None
        for group in self.optimizer.param_groups:
            group["lr"] = config.learning_rate * 0.5 ** (self.step // config.lr_halve_every)
        self.scheduler.base_lrs = [config.learning_rate] * len(self.optimizer.param_groups)
        self.config = config
        if device is not None and resolve_device(device) != self.device:
            self._use_device(resolve_device(device), int(self.rng.integers(2**62)))
        self.batch_size = config.batch_size_for(self.device.type)

    def _use_device(self, device: torch.device, generator_seed: int) -> None:
        """Put the network and the optimiser's state on ``device`` (at start, or e.g. on the CPU
        after a GPU ran out of memory), with the masking generator and mixed precision it needs."""
        self.net.to(device, memory_format=self.memory_format)
        for state in self.optimizer.state.values():
            for key, value in state.items():
                if torch.is_tensor(value) and key != "step":
                    state[key] = value.to(device)
        self.device = device
        self.generator = torch.Generator(device=device)
        self.generator.manual_seed(generator_seed)
        self.amp_dtype = _amp_dtype(device) if self.config.amp else None
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)

    @property
    def steps_before(self) -> int:
        """Steps the model had been trained for before this trainer took it over (0 if new)."""
        r = self.resumed_from or {}
        return int(r.get("total_steps") or r.get("steps") or 0)

    @property
    def lambda_inv(self) -> float:
        """The invariance weight in use: the configured one, or 2 x the estimated noise std for "auto"."""
        if self.config.lambda_inv == "auto":
            if self._noise_std is None:
                self._noise_std = noise_std(self.data)
            return 2.0 * self._noise_std
        return float(self.config.lambda_inv)

    # -- control ------------------------------------------------------------------------------
    def request_stop(self) -> None:
        """Ask a running :meth:`train` to return after the step in progress."""
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    # -- the loop -----------------------------------------------------------------------------
    def train(
        self,
        max_steps: int | None = None,
        max_seconds: float | None = None,
        on_event: Callable[[TrainEvent], None] | None = None,
    ) -> list[dict]:
        """Run until ``max_steps`` more steps, ``max_seconds`` or a stop request, whichever first."""
        if max_steps is None and max_seconds is None:
            raise ValueError("give a budget: max_steps or max_seconds")
        self._stop.clear()
        target = self.step + max_steps if max_steps is not None else None
        start = time.perf_counter()
        rate = None
        self.net.train()
        while not self._stop.is_set():
            if target is not None and self.step >= target:
                break
            elapsed = time.perf_counter() - start
            if max_seconds is not None and elapsed >= max_seconds:
                break
            t0 = time.perf_counter()
            terms = self._train_step()
            self.step += 1
            dt = time.perf_counter() - t0
            rate = 1.0 / dt if rate is None else 0.9 * rate + 0.1 / dt
            val = self.validate() if self._val is not None and self.step % self.config.val_every == 0 else None
            elapsed = time.perf_counter() - start
            event = TrainEvent(
                step=self.step,
                target_step=target,
                loss=terms.total,
                reconstruction=terms.reconstruction,
                invariance=terms.invariance,
                val_loss=val,
                steps_per_s=rate,
                elapsed_s=elapsed,
                eta_s=_eta(self.step, target, rate, elapsed, max_seconds),
                learning_rate=self.optimizer.param_groups[0]["lr"],
            )
            self.history.append(event.to_dict())
            if on_event is not None:
                on_event(event)
        self.seconds += time.perf_counter() - start
        return self.history

    def _train_step(self) -> LossTerms:
        cfg = self.config
        batch = torch.from_numpy(self.data.sample(self.batch_size, self.rng))
        batch = batch.to(self.device, non_blocking=True).contiguous(memory_format=self.memory_format)
        mask = stratified_mask(tuple(batch.shape), cfg.mask_percent, device=self.device, generator=self.generator)
        masked = apply_mask(batch, mask, cfg.replacement, cfg.mask_sigma, generator=self.generator)
        with torch.autocast(self.device.type, dtype=self.amp_dtype or torch.float32, enabled=self.amp_dtype is not None):
            if cfg.method == "blindspot":
                out_masked = self.net(masked).float()
                terms = blindspot_loss(batch, out_masked, mask)
            else:
                if cfg.forward == "joint":
                    out, out_masked = self.net(torch.cat([batch, masked])).float().chunk(2)
                else:
                    out = self.net(batch).float()
                    out_masked = self.net(masked).float()
                terms = noise2same_loss(batch, out, out_masked, mask, self.lambda_inv)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(terms.total).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        # one device-to-host copy (one GPU sync) for the three values
        return LossTerms(*torch.stack([terms.total, terms.reconstruction, terms.invariance]).detach().float().tolist())

    @torch.no_grad()
    def validate(self) -> float:
        """The training loss on the fixed validation patches and masks, in eval mode."""
        cfg = self.config
        was_training = self.net.training
        self.net.eval()
        gen = torch.Generator(device=self.device).manual_seed(1234)
        x = torch.from_numpy(self._val).to(self.device)
        mask = stratified_mask(tuple(x.shape), cfg.mask_percent, device=self.device, generator=gen)
        masked = apply_mask(x, mask, cfg.replacement, cfg.mask_sigma, generator=gen)
        out_masked = self.net(masked)
        if cfg.method == "blindspot":
            value = blindspot_loss(x, out_masked, mask).total
        else:
            value = noise2same_loss(x, self.net(x), out_masked, mask, self.lambda_inv).total
        self.net.train(was_training)
        return float(value)

    # -- result -------------------------------------------------------------------------------
    def to_model(self, diagnose: bool = True) -> Noise2SameModel:
        """A copy of the trained model with its summary (and the J-invariance measure D(f) when ``diagnose``)."""
        last = self.history[-1] if self.history else {}
        recent = self.history[-20:]
        summary = {
            "steps": self.step,
            "total_steps": self.steps_before + self.step,
            "resumed_from": self.resumed_from,
            "train_seconds": round(self.seconds, 2),
            "device": str(self.device),
            "batch_size": self.batch_size,
            "patch_size": list(self.data.patch_size),
            "final_loss": _mean(r["loss"] for r in recent),
            "final_reconstruction": _mean(r["reconstruction"] for r in recent),
            "final_invariance": _mean(r["invariance"] for r in recent),
            "final_val_loss": self.validate() if self._val is not None and last else None,
            "lambda_inv": self.lambda_inv,
            "noise_std_estimate": self._noise_std,
            "trained_on": [list(shape) for shape in self.data.shapes],
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "package_version": __version__,
        }
        patches = self._val if self._val is not None else self.data.sample(16, np.random.default_rng(0), augment=False)
        norm = {"mean": [m.tolist() for m in self.data.means], "std": [s.tolist() for s in self.data.stds]}
        if diagnose and last:
            summary["invariance_D"] = invariance_measure(self.net, patches, self.device)
        # a snapshot: training on afterwards must not change a model already handed out
        return Noise2SameModel(copy.deepcopy(self.net).eval(), self.axes, copy.deepcopy(self.config), norm, summary)


def _amp_dtype(device: torch.device):
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def _eta(step, target, rate, elapsed, max_seconds):
    etas = []
    if target is not None and rate:
        etas.append((target - step) / rate)
    if max_seconds is not None:
        etas.append(max(0.0, max_seconds - elapsed))
    return min(etas) if etas else None


def _mean(values) -> float | None:
    values = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(values)) if values else None
