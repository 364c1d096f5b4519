"""Turning exceptions from workers into one napari notification that names the fix."""

from __future__ import annotations

from napari.utils.notifications import show_error, show_info

from ..errors import Noise2SameError


def message_for(error: BaseException, action: str) -> str:
    if isinstance(error, Noise2SameError):
        return str(error)
    if isinstance(error, InterruptedError):
        return f"{action} stopped"
    text = str(error)
    if "out of memory" in text.lower() or type(error).__name__ == "OutOfMemoryError":
        return (f"{action} ran out of memory: lower the batch size, patch size or tile size, "
                "or choose the CPU as device, then try again")
    if isinstance(error, ValueError):
        return f"{action}: {text}"
    return f"{action} failed ({type(error).__name__}: {text})"


def report(error: BaseException, action: str) -> None:
    if isinstance(error, InterruptedError):
        show_info(message_for(error, action))
    else:
        show_error(message_for(error, action))
