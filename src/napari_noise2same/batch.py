"""Denoising image files into files, shared by ``noise2same predict`` and the prediction
widget's folder mode (no Qt, no napari)."""

from __future__ import annotations

from pathlib import Path

from .engine.predict_options import PredictOptions
from .errors import Noise2SameError


def output_path(path: Path, out: Path) -> Path:
    """Where the result of ``path`` goes: ``out`` itself when it names a zarr store, else
    ``out/<name>_denoised.tif`` (``.zarr``/``.ome.zarr`` for zarr inputs)."""
    if is_zarr_name(out):
        return out
    name = path.name
    for suffix in (".ome.zarr", ".zarr"):
        if name.lower().endswith(suffix):
            return out / f"{name[: -len(suffix)]}_denoised{suffix}"
    if path.is_dir():  # a zarr store without the suffix
        return out / f"{name}_denoised.zarr"
    return out / f"{path.stem}_denoised.tif"


def is_zarr_name(path: Path) -> bool:
    return path.name.lower().endswith(".zarr")


def read_input(path, axes=None):
    """One image (TIFF, PNG, zarr or OME-Zarr), its axes overridden by ``axes`` when given."""
    from .engine.axes import check_axes
    from .io import read_image

    image = read_image(path)
    if axes:
        image.axes = check_axes(axes, image.data.ndim)
    return image


def read_training_inputs(paths, axes=None, lazy: bool | None = None) -> list:
    """The images of ``paths`` to train on (ImageFiles). ``lazy`` None: loaded into memory while
    they fit in a share of the free memory together, the rest opened lazily; True: every TIFF
    opened lazily (PNGs cannot be read in parts and are small).  Lazy TIFFs are read patch by
    patch from the file, so a folder larger than memory trains in bounded memory."""
    import numpy as np

    from .engine.axes import check_axes
    from .io import read_image
    from .io.images import lazy_threshold_bytes

    room = 0 if lazy else lazy_threshold_bytes()
    images = []
    for path in paths:
        image = read_image(path, None, dask=False, room=room)
        if axes:
            image.axes = check_axes(axes, len(image.data.shape))
        if isinstance(image.data, np.ndarray):
            room -= image.data.nbytes
        images.append(image)
    return images


def model_axes(model, image) -> str:
    """The image's axes as the model reads them: an unnamed stack axis is a 3D model's Z."""
    if model.dims == 3 and "Z" not in image.axes and "S" in image.axes:
        return image.axes.replace("S", "Z")
    return image.axes


def denoise_to_tiff(
    model, image, target: Path, options: PredictOptions | None = None, *, on_progress=None, should_stop=None
) -> Path:
    """Denoise ``image`` (an ImageFile) into the TIFF ``target`` with its metadata, streaming
    planes to disk where the axes allow; ``options`` are the predictor's (tiles, TTA, device),
    ``on_progress`` and ``should_stop`` its hooks."""
    import numpy as np

    from .engine.axes import make_layout
    from .engine.predict import iter_planes, planes_in_order
    from .io.images import PlaneStream, write_tiff

    axes = model_axes(model, image)
    if planes_in_order(make_layout(tuple(image.data.shape), axes, model.dims)):
        planes = iter_planes(model, image.data, axes, options, on_progress=on_progress, should_stop=should_stop)
        denoised = PlaneStream(tuple(image.data.shape), np.dtype(np.float32), planes)
    else:
        denoised = model.predict(image.data, axes, options, on_progress=on_progress, should_stop=should_stop)
    return write_tiff(
        target,
        denoised,
        image.axes,
        image.pixel_size,
        image.unit,
        time_interval=image.time_interval,
        channel_names=image.channel_names,
    )


def check_not_an_input(target: Path, inputs: set[Path]) -> None:
    if target.resolve() in inputs:
        raise Noise2SameError(f"output {target} would overwrite an input; choose another output")
