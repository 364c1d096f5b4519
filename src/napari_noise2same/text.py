"""Numbers in words, the same in every front end (command line, napari, exported documents)."""

from __future__ import annotations

import math


def number(value, missing: str = "n/a") -> str:
    """A number for people: whole numbers with thousands separators, others to 4 significant
    digits; ``missing`` for None; anything else as ``str``."""
    if value is None:
        return missing
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int) or (math.isfinite(value) and float(value).is_integer() and abs(value) < 1e15):
        return f"{int(value):,}"
    return f"{value:.4g}"


def channel_words(channels: int, groups: int = 1) -> str:
    """A model's channels and how its networks see them: ``3 channels, one network each (independent)``."""
    if channels == 1:
        return "1 channel"
    how = "one network each (independent)" if groups > 1 else "one network for all (joint)"
    return f"{channels} channels, {how}"
