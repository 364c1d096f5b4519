"""Errors a user can cause and fix: shown as one line, never as a traceback.

Every error names the problem and the fix.  Where the fix is a setting, the message holds a
``{}`` for it and the error carries the setting as a :class:`Fix`; each front end shows it in
its own words (the command line as ``--axes ZYX``, napari by its field's label), so the engine
never names a command-line flag.  ``str(error)`` gives neutral words (``axes ZYX``).  The file
or folder concerned, where there is one, is the error's ``path``: callers test it rather than
the message's text.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Fix:
    """A setting that fixes the problem: its name (a ``TrainConfig`` or ``PredictOptions`` field,
    or ``axes``) and a value to try (None: the user has to choose one)."""

    setting: str
    value: object = None


def plain(fix: Fix) -> str:
    """Neutral words for a fix: ``axes ZYX``, or ``the axes`` without a value."""
    name = fix.setting.replace("_", " ")
    return f"{name} {fix.value}" if fix.value is not None else f"the {name}"


class Noise2SameError(Exception):
    """Base class: the message names the problem and the fix."""

    def __init__(self, message: str, *, path: str | os.PathLike | None = None, fixes: tuple[Fix, ...] = ()):
        super().__init__(message)
        self.message = message
        self.path = Path(path) if path is not None else None
        self.fixes = tuple(fixes)

    def render(self, words: Callable[[Fix], str] = plain) -> str:
        """The message with each fix in ``words`` (a front end's own)."""
        return self.message.format(*(words(f) for f in self.fixes)) if self.fixes else self.message

    def __str__(self) -> str:
        return self.render()


class AxesError(Noise2SameError, ValueError):
    """Axes that are not valid for the image or the model."""


class ImageError(Noise2SameError, ValueError):
    """An image that cannot be read, or cannot be denoised as it is."""


class ModelFileError(Noise2SameError):
    """A model file that is missing, damaged, or of another format or version."""


class ConfigError(Noise2SameError, ValueError):
    """A training or prediction setting out of its range; the message names the range."""


class NoiseModelError(Noise2SameError, ValueError):
    """A noise-model file (a camera calibration) that is missing, not valid, or does not match
    the image, or calibration frames that cannot give one."""
