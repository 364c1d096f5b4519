"""``preset="auto"``: the network, batch, mask and learning rate for this device, data and budget.

The rules and the measurements behind them are in docs/training.md.  What auto chose, and
why, is returned as a record that the trainer keeps in the model's summary.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from .config import (
    AUTO,
    CPU_BATCH,
    DEFAULT_BUDGET,
    GPU_BATCH,
    LEARNING_RATE,
    PAPER_MASK_PERCENT,
    SHORT_RUN_SECONDS,
    TINY_LEARNING_RATE,
    TINY_MASK_PERCENT,
    Budget,
    TrainConfig,
)
from .geometry import PRESETS
from .memory import SHARE, check_fits, free_bytes, largest_batch

__all__ = [
    "CPU_BATCH",
    "DEFAULT_BUDGET",
    "GPU_BATCH",
    "Budget",
    "choose",
    "choose_network",
    "default_batch",
    "network_settings",
]


#: below this budget a GPU trains the lighter ``fast`` network rather than the paper's
GPU_PAPER_SECONDS = 180.0


def choose_network(device: torch.device, dims: int, budget: Budget) -> tuple[str, str]:
    """(preset, reason) for ``preset="auto"`` (docs/training.md: the measurements behind it)."""
    if device.type in ("cuda", "mps"):
        gpu = "a CUDA GPU" if device.type == "cuda" else "an Apple GPU"
        if budget.seconds is None or budget.seconds >= GPU_PAPER_SECONDS:
            return "paper", f"{gpu} and {_budget_words(budget)}: the paper's network"
        return "fast", f"{gpu} but only {_budget_words(budget)}: a network 9x lighter than the paper's"
    return "tiny", (
        "the CPU: the lightest network gives the best result per minute (measured at 1-10 minutes, docs/training.md)"
    )


def _budget_words(budget: Budget) -> str:
    if budget.seconds is None:
        return f"{budget.steps} steps"
    return f"{budget.seconds / 60:.3g} minutes"


def default_batch(device: torch.device, dims: int) -> int:
    return (CPU_BATCH if device.type == "cpu" else GPU_BATCH)[dims]


def network_settings(preset: str, budget: Budget) -> tuple[float, float, str]:
    """(mask percent, learning rate, reason) that ``preset`` trains best with in ``budget``."""
    if preset == "tiny" and budget.seconds is not None and budget.seconds <= SHORT_RUN_SECONDS:
        why = f"mask {TINY_MASK_PERCENT:g} %, learning rate {TINY_LEARNING_RATE:g}: what the tiny network"
        return TINY_MASK_PERCENT, TINY_LEARNING_RATE, why + f" learns fastest with in {_budget_words(budget)}"
    why = f"mask {PAPER_MASK_PERCENT:g} % (the paper's), learning rate {LEARNING_RATE:g}"
    return PAPER_MASK_PERCENT, LEARNING_RATE, why


def choose(
    config: TrainConfig,
    patch: tuple[int, ...],
    channels: int,
    device: torch.device,
    budget: Budget | None = None,
    free: int | None = None,
) -> tuple[TrainConfig, dict | None]:
    """Concrete settings for ``config``: (config, record of auto's choices or None).

    A network or batch left to auto is chosen; a batch the user gave is checked against the
    memory and refused with the largest that fits; a batch auto picks is reduced until it
    fits.  The patch is the user's (or the default): a patch too large for even one per step
    is refused with the fix.
    """
    budget = budget or DEFAULT_BUDGET
    free = free_bytes(device) if free is None else free
    record: dict = {"reasons": []}
    preset = config.preset
    if preset == AUTO:
        preset, why = choose_network(device, config.dims, budget)
        record["preset"] = preset
        record["reasons"].append(why)
    width, dims = PRESETS[preset], config.dims
    if config.channel_mode == "independent":
        width *= channels  # one network per channel: as many activations as one that wide (a bound on memory)
    batch = config.batch_size
    if batch is not None:
        check_fits(dims, width, channels, batch, patch, device, free)
    else:
        batch = default_batch(device, dims)
        fits = largest_batch(dims, width, channels, patch, int(SHARE * free))
        if fits < 1:
            check_fits(dims, width, channels, 1, patch, device, free)  # raises, naming the fix
        if fits < batch:
            record["reasons"].append(f"batch reduced from {batch} to {fits} to fit in memory")
            batch = fits
        record["batch_size"] = batch
        record["reasons"].append(f"batch {batch}: " + ("the CPU default" if device.type == "cpu" else "the paper's"))
    mask, rate = config.mask_percent, config.learning_rate
    if mask is None or rate is None:
        best_mask, best_rate, why = network_settings(preset, budget)
        if mask is None:
            record["mask_percent"] = mask = best_mask
        if rate is None:
            record["learning_rate"] = rate = best_rate
        record["reasons"].append(why)
    resolved = replace(config, preset=preset, batch_size=batch, mask_percent=mask, learning_rate=rate)
    if not config.is_auto:
        return resolved, None
    record.update(patch_size=list(patch), device=str(device), budget={"steps": budget.steps, "seconds": budget.seconds})
    return resolved, record
