"""Between napari layers and the engine: axes, result layers, side-by-side comparison."""

from __future__ import annotations

import numpy as np

from ..engine.axes import axes_from_labels, default_axes


def layer_axes(layer) -> str:
    """The engine axes of an Image layer: from its axis labels when they are letters, else a guess."""
    ndim = layer.data.ndim
    if layer.rgb:
        spatial = default_axes(ndim - 1)
        return spatial + "C"
    return axes_from_labels(getattr(layer, "axis_labels", ()), ndim) or default_axes(ndim)


def layer_array(layer):
    """The layer's full-resolution data as it is (numpy, or lazy dask/zarr: the engine reads it block by block)."""
    return layer.data[0] if getattr(layer, "multiscale", False) else layer.data


def current_slice(layer, axes: str, dims: int, current_step) -> tuple:
    """Index of the plane (2D) or volume (3D) the viewer shows, as a tuple over the layer's axes."""
    keep = set("YX") | ({"Z"} if dims == 3 else set()) | {"C"}
    index = []
    offset = len(current_step) - layer.data.ndim
    for i, a in enumerate(axes):
        if a in keep:
            index.append(slice(None))
        else:
            world = current_step[offset + i] if 0 <= offset + i < len(current_step) else 0
            index.append(int(np.clip(world, 0, layer.data.shape[i] - 1)))
    return tuple(index)


def result_kwargs(layer, name: str) -> dict:
    """Layer keyword arguments that keep the input's geometry and contrast."""
    kwargs = {
        "name": name,
        "scale": layer.scale,
        "translate": layer.translate,
        "contrast_limits": layer.contrast_limits,
        "colormap": layer.colormap.name if not layer.rgb else None,
        "blending": layer.blending,
        "rgb": layer.rgb,
    }
    for attr in ("axis_labels", "units"):
        if hasattr(layer, attr):
            kwargs[attr] = getattr(layer, attr)
    return {k: v for k, v in kwargs.items() if v is not None}


def set_or_add(viewer, data, kwargs: dict):
    """Update the layer called ``kwargs['name']`` or add it; returns the layer."""
    name = kwargs["name"]
    if name in viewer.layers:
        layer = viewer.layers[name]
        layer.data = data
        return layer
    return viewer.add_image(data, **kwargs)


def toggle_side_by_side(viewer, left, right) -> bool:
    """Show two layers next to each other (grid mode, cameras linked) or go back. True when on."""
    grid = viewer.grid
    if grid.enabled:
        grid.enabled = False
        for layer in viewer.layers:
            layer.visible = layer.metadata.pop("n2s_was_visible", layer.visible)
        viewer.reset_view()
        return False
    for layer in viewer.layers:
        layer.metadata["n2s_was_visible"] = layer.visible
        layer.visible = layer in (left, right)
    grid.stride = 1
    grid.enabled = True
    viewer.reset_view()
    return True


def add_residual(viewer, layer, denoised) -> None:
    """Add (or update) ``<layer>_residual``: noisy minus denoised, in a diverging colormap."""
    residual = np.asarray(layer.data, np.float32) - np.asarray(denoised.data, np.float32)
    kwargs = result_kwargs(layer, f"{layer.name}_residual")
    kwargs.pop("contrast_limits", None)
    kwargs["colormap"] = "PiYG" if not layer.rgb else None
    set_or_add(viewer, residual, {k: v for k, v in kwargs.items() if v is not None})


def layer_pixel_size(layer, axes: str) -> tuple[dict, str | None]:
    """The layer's scale per axis letter and its spatial unit (None for pixels or no units)."""
    sizes = dict(zip(axes.upper(), (float(v) for v in layer.scale[-len(axes) :]), strict=False))
    units = [str(u) for u in getattr(layer, "units", ())][-len(axes) :]
    spatial = {u for a, u in zip(axes.upper(), units, strict=False) if a in "ZYX"}
    unit = spatial.pop() if len(spatial) == 1 else None
    return sizes, None if unit in (None, "pixel", "") else unit
