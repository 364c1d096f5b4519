"""The test input of a bioimage.io package: the user's sample, cropped, or a built-in noisy example.

Every test input is float32 (1, C, *spatial) with the model's channels and at least
:func:`min_input_size` px per spatial axis.
"""

from __future__ import annotations

import numpy as np

from ..errors import ImageError
from .network import HALO

#: largest test image per spatial axis (a centred crop of a larger sample)
TEST_SIDE = {2: (256, 256), 3: (64, 64, 64)}
#: top-left corner of the built-in 2D test image in scikit-image's cell picture: the cell and background
CELL_CROP = (248, 294)


def min_input_size() -> int:
    """Smallest spatial side the package accepts: bioimage.io wants room for the halo on both sides
    (any larger size works: the network pads to its multiple of 4 itself)."""
    from ..engine.tiling import MIN_INPUT

    return max(MIN_INPUT, 2 * HALO + 1)


def make_test_input(model, sample, sample_axes: str | None) -> np.ndarray:
    """The test input as float32 (1, C, *spatial): the sample's first time point/plane, centre-cropped."""
    if sample is None:
        return builtin_sample(model)
    from ..engine.arrays import read_block, spatial_shape
    from ..engine.axes import make_layout

    shape = tuple(np.shape(sample))
    axes = sample_axes if sample_axes is not None else guess_axes(model, len(shape))
    layout = make_layout(shape, axes, model.dims)
    if layout.channels != model.channels:
        raise ImageError(
            f"the model expects {model.channels} channel(s) but the sample has {layout.channels} "
            f"(axes {layout.axes}, shape {shape}); pass a sample with {model.channels} channel(s) or fix sample_axes"
        )
    crop = []
    for axis, size, limit in zip(layout.spatial_axes, spatial_shape(layout), TEST_SIDE[model.dims], strict=False):
        side = min(size, limit)
        if side < min_input_size():
            raise ImageError(
                f"the sample has {size} px along {axis}; a test image needs at least {min_input_size()} "
                f"per spatial axis, so pass a larger sample"
            )
        lo = (size - side) // 2
        crop.append(slice(lo, lo + side))
    block = read_block(sample, layout, 0, tuple(crop))
    if not np.isfinite(block).all():
        raise ImageError("the sample contains NaN or infinite values; replace them or pass another sample")
    if np.any(block.reshape(block.shape[0], -1).std(axis=1) == 0):
        raise ImageError("the sample's crop is constant in a channel; pass an image with some structure and noise")
    return np.ascontiguousarray(block[None], dtype=np.float32)


def guess_axes(model, ndim: int) -> str:
    """The axes of an unlabelled sample: the model's own axes, its spatial axes, or C + spatial."""
    spatial = "ZYX" if model.dims == 3 else "YX"
    for axes in (model.axes, spatial, "C" + spatial):
        if len(axes) == ndim:
            return axes
    raise ImageError(
        f"cannot tell the axes of a {ndim}-D sample for a model trained on {model.axes}; "
        f"pass sample_axes, e.g. {model.axes!r}"
    )


def builtin_sample(model) -> np.ndarray:
    """A noisy example with the model's channels: a crop of a noisy cell image (2D) or a
    synthetic noisy volume (3D, the smallest allowed depth), fixed seeds."""
    from ..examples import noisy_cell, poisson_gaussian, synthetic_cells

    if model.dims == 2:
        h, w = TEST_SIDE[2]
        planes = []
        for c in range(model.channels):
            noisy = noisy_cell(seed=c)[0]
            y0, x0 = (min(o, s - n) for o, s, n in zip(CELL_CROP, noisy.shape, (h, w), strict=False))
            planes.append(noisy[y0 : y0 + h, x0 : x0 + w])
        image = np.stack(planes)
    else:
        clean = synthetic_cells((min_input_size(), 64, 64), seed=0)
        image = np.stack([poisson_gaussian(clean, photons=10.0, seed=c) for c in range(model.channels)])
    return np.ascontiguousarray(image[None], dtype=np.float32)
