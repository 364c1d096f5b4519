"""Picking the torch device: CUDA, then Apple MPS, then CPU, or what the user names."""

from __future__ import annotations

import torch

from ..errors import Fix, Noise2SameError


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    if isinstance(name, torch.device):
        return name
    name = (name or "auto").lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise Noise2SameError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise Noise2SameError("no CUDA GPU is available here; use {} (or auto)", fixes=(Fix("device", "cpu"),))
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise Noise2SameError(
            f"there is no GPU {device.index} (found {torch.cuda.device_count()}); pick another cuda:N"
        )
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise Noise2SameError("Apple MPS is not available here; use {} (or auto)", fixes=(Fix("device", "cpu"),))
    return device


def available_devices() -> list[tuple[str, str]]:
    """(device string, human name) for every device present, best first."""
    found = []
    for i in range(torch.cuda.device_count()):
        found.append((f"cuda:{i}", f"GPU {i}: {torch.cuda.get_device_name(i)}"))
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        found.append(("mps", "Apple GPU (MPS)"))
    found.append(("cpu", "CPU"))
    return found
