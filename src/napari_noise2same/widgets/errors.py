"""Turning exceptions from workers into one napari notification that names the fix."""

from __future__ import annotations

from napari.utils.notifications import show_error, show_info

from ..errors import Fix, Noise2SameError

#: the widgets' labels of the settings an error may name as its fix
LABELS = {"dims": "model", "batch_size": "batch size", "patch_size": "patch size", "tile_size": "tile size"}


def gui_words(fix: Fix) -> str:
    """A fix as the widgets name it: ``axes: ZYX``, ``model: 2D``, or ``the axes field``."""
    label = LABELS.get(fix.setting, fix.setting.replace("_", " "))
    if fix.value is None:
        return f"the {label} field"
    value = f"{fix.value}D" if fix.setting == "dims" else fix.value
    return f"{label}: {value}"


def message_for(error: BaseException, action: str) -> str:
    if isinstance(error, Noise2SameError):
        return error.render(gui_words)
    if isinstance(error, InterruptedError):
        return f"{action} stopped"
    text = str(error)
    if "out of memory" in text.lower() or type(error).__name__ == "OutOfMemoryError":
        return (
            f"{action} ran out of memory: lower the batch size, patch size or tile size, "
            "or choose the CPU as device, then try again"
        )
    if isinstance(error, ValueError):
        return f"{action}: {text}"
    return f"{action} failed ({type(error).__name__}: {text})"


def report(error: BaseException, action: str) -> None:
    if isinstance(error, InterruptedError):
        show_info(message_for(error, action))
    else:
        show_error(message_for(error, action))
