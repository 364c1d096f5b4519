"""Errors a user can cause and fix: shown as one line, never as a traceback."""


class Noise2SameError(Exception):
    """Base class: the message names the problem and the fix."""


class AxesError(Noise2SameError, ValueError):
    pass


class ImageError(Noise2SameError, ValueError):
    pass


class ModelFileError(Noise2SameError):
    pass


class ConfigError(Noise2SameError, ValueError):
    """A training or prediction setting out of its range; the message names the range."""
