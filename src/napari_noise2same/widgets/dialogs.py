"""File dialogs of the widgets: one place for their titles and filters."""

from __future__ import annotations

MODEL_FILTER = "Noise2Same model (*.n2s)"


def ask_open(parent, title: str, file_filter: str = MODEL_FILTER) -> str | None:
    from qtpy.QtWidgets import QFileDialog

    path, _ = QFileDialog.getOpenFileName(parent, title, "", file_filter)
    return path or None


def ask_save(parent, title: str, name: str, suffix: str, file_filter: str) -> str | None:
    """A path to write, with ``suffix`` added when the user left it out."""
    from qtpy.QtWidgets import QFileDialog

    path, _ = QFileDialog.getSaveFileName(parent, title, name, file_filter)
    if not path:
        return None
    return path if path.lower().endswith(suffix) else path + suffix


def ask_folder(parent, title: str) -> str | None:
    from qtpy.QtWidgets import QFileDialog

    return QFileDialog.getExistingDirectory(parent, title) or None
