"""Axes strings over S T C Z Y X, and the canonical (samples, channels, *spatial) layout.

S and T are sample axes, C holds channels, Z is spatial for 3D models and a
sample axis for 2D models; Y and X are always spatial.  Any order goes in; the
canonical layout is what the network sees (engine/arrays.py reads it block by
block and puts blocks back in the caller's order).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import AxesError, Fix

ALLOWED = "STCZYX"


def check_axes(axes: str, ndim: int) -> str:
    axes = axes.upper().strip()
    bad = sorted(set(axes) - set(ALLOWED))
    if bad:
        raise AxesError(f"axes {axes!r} contain {''.join(bad)!r}; use only the letters {ALLOWED}")
    if len(set(axes)) != len(axes):
        raise AxesError(f"axes {axes!r} repeat a letter; name each axis once, e.g. 'ZYX'")
    if len(axes) != ndim:
        raise AxesError(
            f"axes {axes!r} name {len(axes)} axes but the image has {ndim} (shape given by the file); "
            f"give {{}} with {ndim} letters",
            fixes=(Fix("axes"),),
        )
    if "Y" not in axes or "X" not in axes:
        raise AxesError(f"axes {axes!r} must contain Y and X")
    return axes


def default_axes(ndim: int, rgb: bool = False) -> str:
    """The one guess for unlabelled arrays: trailing YX, a leading Z for 3D, TZ for 4D, TCZ for
    5D, and samples (S) before YX beyond; RGB pictures have C last."""
    if rgb:
        return {3: "YXC", 4: "TYXC"}.get(ndim) or _guess_failed(ndim)
    if ndim > 5:
        return "S" * (ndim - 2) + "YX"
    return {2: "YX", 3: "ZYX", 4: "TZYX", 5: "TCZYX"}.get(ndim) or _guess_failed(ndim)


def axes_from_labels(labels, ndim: int) -> str | None:
    """Axis letters from labels such as napari's ('t', 'z', 'y', 'x'), or None when they are
    not one distinct letter of ``ALLOWED`` per dimension."""
    letters = [str(a).upper() for a in labels]
    if len(letters) == ndim and all(len(a) == 1 and a in ALLOWED for a in letters) and len(set(letters)) == ndim:
        return "".join(letters)
    return None


def _guess_failed(ndim: int):
    raise AxesError(f"cannot guess the axes of a {ndim}-D image; give them, e.g. {{}}", fixes=(Fix("axes", "TZCYX"),))


@dataclass(frozen=True)
class Layout:
    """How an array with ``axes`` maps onto (N, C, *spatial) for a ``dims``-D model."""

    axes: str
    shape: tuple[int, ...]
    dims: int

    @property
    def spatial_axes(self) -> str:
        return "ZYX" if self.dims == 3 else "YX"

    @property
    def sample_axes(self) -> str:
        return "".join(a for a in self.axes if a not in self.spatial_axes and a != "C")

    @property
    def channels(self) -> int:
        return self.shape[self.axes.index("C")] if "C" in self.axes else 1

    @property
    def order(self) -> list[int]:
        wanted = self.sample_axes + ("C" if "C" in self.axes else "") + self.spatial_axes
        return [self.axes.index(a) for a in wanted]

    @property
    def canonical_shape(self) -> tuple[int, ...]:
        n = int(np.prod([self.shape[self.axes.index(a)] for a in self.sample_axes], dtype=np.int64))
        spatial = tuple(self.shape[self.axes.index(a)] for a in self.spatial_axes)
        return (n, self.channels, *spatial)


def make_layout(shape: tuple[int, ...], axes: str, dims: int) -> Layout:
    axes = check_axes(axes, len(shape))
    if dims not in (2, 3):
        raise AxesError(f"dims must be 2 or 3, not {dims}")
    if dims == 3 and "Z" not in axes:
        raise AxesError(
            f"a 3D model needs a Z axis, but the axes are {axes!r}; name it (e.g. {{}}) or train a 2D model ({{}})",
            fixes=(Fix("axes", "ZYX"), Fix("dims", 2)),
        )
    return Layout(axes, tuple(int(s) for s in shape), dims)


def to_canonical(array: np.ndarray, layout: Layout) -> np.ndarray:
    return np.transpose(array, layout.order).reshape(layout.canonical_shape)
