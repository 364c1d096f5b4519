"""The one training loop behind the GUI, the command line and the tests.

It reports a :class:`TrainEvent` after every step to a callback, checks a stop
flag every step, and keeps its state (weights, optimiser, schedule, step), so a
second call to :meth:`Trainer.train` continues where the first one stopped.
"""

from __future__ import annotations

import copy
import datetime
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import torch

from .. import __version__
from ..errors import ConfigError
from .auto import Budget, choose
from .best import BestWeights
from .config import AUTO, TrainConfig, check_budget
from .data import TrainingData
from .data_noise import DataNoise
from .devices import resolve_device
from .diagnostics import invariance_statistics, torch_run
from .estimate import choose_estimate
from .loss import LossValues
from .model import Noise2SameModel
from .objective import masked_loss
from .run_budget import RunBudget, eta
from .schedule import Plateau, lr_factor
from .spread import SpreadHead
from .train_events import Checkpoint, TrainEvent
from .unet import UNet, UNetConfig, channels_last


class Trainer:
    """Trains one model.  ``preset="auto"`` or ``batch_size=None`` in ``config`` are resolved
    here (engine/auto.py) for the device, the data and ``budget`` (what the first run will be
    given; the command line's default when not said); ``self.config`` holds the result and
    ``self.auto`` what auto chose and why."""

    def __init__(
        self,
        data: TrainingData,
        config: TrainConfig | None = None,
        *,
        axes: str = "YX",
        device: str | torch.device = "auto",
        model: Noise2SameModel | None = None,
        budget: Budget | None = None,
    ):
        config = config or TrainConfig(dims=data.dims)
        device = resolve_device(device)
        if model is not None:
            if model.dims != data.dims or model.channels != data.channels:
                raise ConfigError(
                    f"the model is {model.dims}D with {model.channels} channel(s) but the data is "
                    f"{data.dims}D with {data.channels}; start a new model for this data"
                )
            # fine-tuning: the network (a copy: the model it starts from stays as it was) defines the preset
            config = replace(config, dims=model.dims, preset=model.train_config.preset, channel_mode=model.channel_mode)
        self.config, self.auto = choose(config, data.patch_size, data.channels, device, budget)
        self.data = data
        self.axes = axes
        seed = self.config.seed
        self.rng = np.random.default_rng(seed)
        if seed is not None:
            torch.manual_seed(seed)
        self.resumed_from: dict | None
        if model is not None:
            self.net = copy.deepcopy(model.net)
            self.resumed_from = {k: model.summary.get(k) for k in ("steps", "total_steps", "date", "final_loss")}
        else:
            independent = self.config.channel_mode == "independent"
            self.net = UNet(UNetConfig.from_preset(self.config.preset, data.dims, data.channels, independent))
            self.resumed_from = None
        given = model.spread if model is not None else None  # the spread head of the posterior (engine/spread.py)
        self.spread = copy.deepcopy(given) if given is not None else SpreadHead.for_net(self.net)
        self.memory_format = channels_last(data.dims)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=self.learning_rate)
        self.spread_optimizer = torch.optim.Adam(self.spread.parameters(), lr=self.learning_rate)
        self._weights = torch.nn.ModuleDict({"net": self.net, "spread": self.spread})  # what keep_best keeps
        if model is not None and model.training_state:
            # a checkpoint: Adam's moments too, so training continues as if never interrupted
            self.optimizer.load_state_dict(model.training_state["optimizer"])
        self._use_device(device, seed if seed is not None else int(self.rng.integers(2**62)))
        self.step = 0
        self.seconds = 0.0
        self.history: list[dict] = []
        self._stop = threading.Event()
        self._val = data.validation_patches(seed=0)
        self._run_started: float | None = None
        self._best = BestWeights()  # this run's weights of the lowest validation loss
        #: what the last run's ending kept: the step and validation loss of the weights it ended with
        self.kept_best: dict | None = None
        #: the data's noise: lambda_inv "auto", the structured mask, warnings (engine/data_noise.py)
        self.noise = DataNoise(data, self.config)
        self.noise_model = None  # a calibration for the posterior, recorded with the model (train --noise-model)

    @property
    def batch_size(self) -> int:
        assert self.config.batch_size is not None  # auto has chosen one
        return self.config.batch_size

    @property
    def mask_percent(self) -> float:
        assert self.config.mask_percent is not None  # auto has chosen it
        return self.config.mask_percent

    @property
    def learning_rate(self) -> float:
        """The base learning rate, before the schedule."""
        assert self.config.learning_rate is not None  # auto has chosen it
        return self.config.learning_rate

    def reconfigure(
        self, config: TrainConfig, device: str | torch.device | None = None, budget: Budget | None = None
    ) -> None:
        """Change settings between runs of the same model: loss, learning rate, schedule, batch
        and patch size, validation, device.  The network stays: its dims cannot change, and
        a preset other than "auto" must be the one it has."""
        if (
            config.dims != self.config.dims
            or config.preset not in (AUTO, self.config.preset)
            or config.channel_mode != self.config.channel_mode
        ):
            raise ConfigError(
                "the network's dims, preset and channel mode are fixed once trained: start a new model to change them"
            )
        config = replace(config, preset=self.config.preset)
        if device is not None and resolve_device(device) != self.device:
            self._use_device(resolve_device(device), int(self.rng.integers(2**62)))
        if (config.patch_size, config.val_fraction) != (self.config.patch_size, self.config.val_fraction):
            self.data = self.data.resampled(config.patch_size, config.val_fraction)
            self._val = self.data.validation_patches(seed=0)
        self.config, auto = choose(config, self.data.patch_size, self.data.channels, self.device, budget)
        self.auto = auto or self.auto
        if not self.noise.still_fits(self.data, self.config):
            self.noise = DataNoise(self.data, self.config)

    def _use_device(self, device: torch.device, generator_seed: int) -> None:
        """Put the network and the optimiser's state on ``device`` (at start, or e.g. on the CPU
        after a GPU ran out of memory), with the masking generator and mixed precision it needs."""
        self.net.to(device, memory_format=self.memory_format)  # type: ignore[call-overload]  # torch's stubs lack it
        self.spread.to(device, memory_format=self.memory_format)  # type: ignore[call-overload]
        for state in [*self.optimizer.state.values(), *self.spread_optimizer.state.values()]:
            for key, value in state.items():
                if torch.is_tensor(value) and key != "step":
                    state[key] = value.to(device)
        self.device = device
        self.generator = torch.Generator(device=device)
        self.generator.manual_seed(generator_seed)
        self.amp_dtype = _amp_dtype(device) if self.config.amp else None
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)

    @property
    def _per_channel(self) -> bool:
        """One network per channel: each channel's loss on its own (engine/loss.py)."""
        return self.net.config.groups > 1

    @property
    def steps_before(self) -> int:
        """Steps the model had been trained for before this trainer took it over (0 if new)."""
        r = self.resumed_from or {}
        return int(r.get("total_steps") or r.get("steps") or 0)

    @property
    def lambda_inv(self) -> float:
        """The invariance weight in use (engine/data_noise.py: "auto" from the noise level)."""
        return self.noise.lambda_inv(self.config)

    @property
    def struct_mask(self) -> tuple[int, int] | None:
        """The footprint masked around every pixel of J, or None (engine/struct_mask.py)."""
        return self.noise.struct_mask

    @property
    def struct_mask_record(self) -> dict:
        return self.noise.struct_mask_record

    @property
    def warnings(self) -> list[str]:
        """Things about the data or the settings a user should know, in words."""
        return self.noise.warnings

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
        *,
        checkpoint: Checkpoint | None = None,
    ) -> list[dict]:
        """Run until ``max_steps`` more steps, ``max_seconds``, a stop request or (with
        ``stop_when_done``) the end of learning, whichever first.  The learning-rate schedule
        spans this run; ``checkpoint`` saves the model now and then while it runs."""
        check_budget(max_steps, max_seconds)
        self._stop.clear()
        run = RunBudget(self.step, max_steps, max_seconds)
        plateau = Plateau() if self.config.stop_when_done and self._val is not None else None
        self._best, self.kept_best = BestWeights(), None
        start = last_save = self._run_started = time.perf_counter()
        rate = None
        self.net.train()
        self.spread.train()
        while not self._stop.is_set() and not run.over(self.step, time.perf_counter() - start):
            factor = lr_factor(
                self.config.lr_schedule,
                run.progress(self.step, time.perf_counter() - start),
                self.step,
                self.config.lr_halve_every,
            )
            for group in [*self.optimizer.param_groups, *self.spread_optimizer.param_groups]:
                group["lr"] = self.learning_rate * factor
            t0 = time.perf_counter()
            terms = self._train_step()
            self.step += 1
            dt = time.perf_counter() - t0
            rate = 1.0 / dt if rate is None else 0.9 * rate + 0.1 / dt
            val = self.validate() if self._val is not None and self.step % self.config.val_every == 0 else None
            if val is not None:
                self._best.offer(self._weights, val, self.step)
            notes = []
            if val is not None and plateau is not None and not run.finishing and plateau.update(val):
                notes.append(run.finish(self.step, time.perf_counter() - start, self.config.lr_schedule))
            if checkpoint is not None and time.perf_counter() - last_save >= checkpoint.every_seconds:
                self.save_checkpoint(checkpoint.path)
                last_save = time.perf_counter()
                notes.append(f"checkpoint saved to {checkpoint.path}")
            elapsed = time.perf_counter() - start
            event = TrainEvent(
                step=self.step,
                target_step=run.target_step,
                loss=terms.total,
                reconstruction=terms.reconstruction,
                invariance=terms.invariance,
                val_loss=val,
                steps_per_s=rate,
                elapsed_s=elapsed,
                eta_s=eta(self.step, run.target_step, rate, elapsed, run.seconds),
                learning_rate=self.optimizer.param_groups[0]["lr"],
                finishing=run.finishing,
                note="; ".join(notes) or None,
            )
            self.history.append(event.to_dict())
            if on_event is not None:
                on_event(event)
        self.seconds += time.perf_counter() - start
        self._run_started = None
        if self.config.keep_best:
            self.restore_best()
        return self.history

    def restore_best(self) -> dict | None:
        """End the run just finished with the weights of its lowest validation loss, where the
        last weights' (measured now) is higher by more than ``best.MARGIN``.  On a small training
        set a long run can start fitting the noise; the validation loss, the same loss on
        held-out patches, rises with it (engine/best.py).  Returns (and
        keeps in ``kept_best``) the steps and losses when earlier weights were taken, else None.
        The optimiser's state stays the last's: training continues from the kept weights."""
        if self._val is None or self._best.step in (None, self.step):
            return None
        self.kept_best = self._best.restore(self._weights, self.validate(), self.step)
        return self.kept_best

    def kept_note(self) -> str | None:
        """``kept_best`` in words."""
        k = self.kept_best
        if k is None:
            return None
        return (
            f"kept the weights of step {k['step']}, whose validation loss {k['val_loss']:.4g} was the run's lowest "
            f"(step {k['last_step']}: {k['last_val_loss']:.4g})"
        )

    def _train_step(self) -> LossValues:
        cfg = self.config
        batch = torch.from_numpy(self.data.sample(self.batch_size, self.rng, augment=cfg.augment))
        batch = batch.to(self.device, non_blocking=True).contiguous(memory_format=self.memory_format)
        args = (self.mask_percent, self.lambda_inv, self._per_channel, self.generator, self.amp_dtype)
        terms = masked_loss(self.net, batch, cfg, *args, self.struct_mask, self.spread)
        self.optimizer.zero_grad(set_to_none=True)
        self.spread_optimizer.zero_grad(set_to_none=True)
        # the spread head's loss reaches only its own weights (engine/spread.py)
        loss = terms.total if terms.spread is None else terms.total + terms.spread
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        if terms.spread is not None:
            self.scaler.step(self.spread_optimizer)
        self.scaler.update()
        # one device-to-host copy (one GPU sync) for the three values
        return LossValues(*torch.stack([terms.total, terms.reconstruction, terms.invariance]).detach().float().tolist())

    @torch.no_grad()
    def validate(self) -> float:
        """The training loss on the fixed validation patches and masks, in eval mode."""
        was_training = self.net.training
        self.net.eval()
        gen = torch.Generator(device=self.device).manual_seed(1234)
        x = torch.from_numpy(self._val).to(self.device)
        value = masked_loss(
            self.net, x, self.config, self.mask_percent, self.lambda_inv, self._per_channel, gen, None, self.struct_mask
        ).total
        self.net.train(was_training)
        return float(value)

    # -- result -------------------------------------------------------------------------------
    def to_model(self, diagnose: bool = True, validate: bool = True) -> Noise2SameModel:
        """A copy of the trained model with its summary (and the J-invariance measure D(f) when
        ``diagnose``, the validation loss when ``validate``)."""
        last = self.history[-1] if self.history else {}
        recent = self.history[-20:]
        running = time.perf_counter() - self._run_started if self._run_started is not None else 0.0
        summary = {
            "steps": self.step,
            "total_steps": self.steps_before + self.step,
            "resumed_from": self.resumed_from,
            "train_seconds": round(self.seconds + running, 2),
            "device": str(self.device),
            "batch_size": self.batch_size,
            "patch_size": list(self.data.patch_size),
            "final_loss": _mean(r["loss"] for r in recent),
            "final_reconstruction": _mean(r["reconstruction"] for r in recent),
            "final_invariance": _mean(r["invariance"] for r in recent),
            "final_val_loss": self.validate() if validate and self._val is not None and last else None,
            "kept_best": self.kept_best,  # a run ended with earlier weights, of a lower validation loss
            "lambda_inv": self.lambda_inv,
            **self.noise.summary(),
            "warnings": list(self.warnings),
            "trained_on": [list(shape) for shape in self.data.shapes],
            "validated_on": [list(s.shape) for s in self.data.val_sources] or None,  # separate validation images
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "package_version": __version__,
        }
        if self.auto is not None:
            summary["auto"] = self.auto
        patches = self._val if self._val is not None else self.data.sample(16, np.random.default_rng(0), augment=False)
        norm = {
            "per": "frame",
            "mean": [m.tolist() for m in self.data.means],
            "std": [s.tolist() for s in self.data.stds],
        }
        if diagnose and last:
            was_training = self.net.training
            self.net.eval()
            try:
                d = invariance_statistics(torch_run(self.net, self.device), patches)
            finally:
                self.net.train(was_training)
            summary.update(invariance_D=d.d, invariance_D_se=d.se, invariance_D_pixels=d.pixels)
        # a snapshot: training on afterwards must not change a model already handed out
        net, spread = copy.deepcopy(self.net).eval(), copy.deepcopy(self.spread).eval()
        model = Noise2SameModel(net, self.axes, copy.deepcopy(self.config), norm, summary, spread=spread)
        if self.noise_model is not None:  # a calibration (engine/noise_calibration.py) for the posterior
            model.summary["noise_model"] = {"source": self.noise_model.source, **self.noise_model.to_dict()}
        if diagnose and last:  # Noise2Same's output or the posterior (engine/estimate.py), on a training crop
            noise = getattr(self.noise_model, "variance", None)
            model.summary["estimate"] = choose_estimate(model, self.data.sources[0], self.config.estimate, noise)
        return model

    def save_checkpoint(self, path: str | os.PathLike) -> None:
        """Write the model as it is now, with the optimiser's state, atomically to ``path``:
        ``Trainer(..., model=load_model(path))`` continues from it (``--resume``)."""
        model = self.to_model(diagnose=False, validate=False)
        model.summary["checkpoint"] = True
        model.training_state = {"optimizer": self.optimizer.state_dict()}
        model.save(path)


def _amp_dtype(device: torch.device):
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def _mean(values) -> float | None:
    values = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(values)) if values else None
