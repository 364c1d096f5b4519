"""The ``rdf.yaml`` of a bioimage.io package: a bioimage.io v0_5 ``ModelDescr`` of a trained model.

Tensors (axes, halo, pixel sizes), the weight formats, the reproduction tolerance, training
details and napari-noise2same's own settings under ``config``.  No weights entry carries a
``comment``: model format 0.5.3, which the package is written in (format_version.py), has none;
the README says what each weight format is.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..engine.onnx_runner import OPSET
from ..engine.schedule import describe as describe_schedule
from .network import HALO, NETWORK_CALLABLE, ONNX_WEIGHTS, PACKAGE_NETWORK_NAME, network_kwargs
from .samples import min_input_size

CITATION = (
    "Xie Y, Wang Z, Ji S. Noise2Same: Optimizing A Self-Supervised Bound for Image Denoising. "
    "Advances in Neural Information Processing Systems 33 (NeurIPS 2020)."
)
CITATION_DOI = "10.48550/arXiv.2010.11971"  # the paper's arXiv record


def describe(model, folder: Path, name: str, authors: list[str], test_output: np.ndarray):
    """The package's ``ModelDescr``; ``folder`` holds the files it names (written beforehand)."""
    import torch
    from bioimageio.spec.model import v0_5 as bm

    from .. import __version__
    from ..engine.unet import count_parameters

    spatial = "zyx" if model.dims == 3 else "yx"
    units, scales = _pixel_sizes(model.summary, spatial)
    size = bm.ParameterizedSize(min=min_input_size(), step=1)  # any size: the network pads to a multiple of 4
    channel_names = [f"channel{c}" for c in range(model.channels)]
    inputs = bm.InputTensorDescr(
        id=bm.TensorId("input"),
        description="noisy image, any intensity scale (standardised inside the network)",
        axes=[
            bm.BatchAxis(),
            bm.ChannelAxis(channel_names=[bm.Identifier(n) for n in channel_names]),
            *[
                bm.SpaceInputAxis(id=bm.AxisId(a), size=size, unit=units.get(a), scale=scales.get(a, 1.0))
                for a in spatial
            ],
        ],
        test_tensor=bm.FileDescr(source=folder / "test_input.npy"),
        sample_tensor=bm.FileDescr(source=folder / "sample_input.tif"),
        data=bm.IntervalOrRatioDataDescr(type="float32"),
    )
    outputs = bm.OutputTensorDescr(
        id=bm.TensorId("output"),
        description="denoised image in the input's intensity units",
        axes=[
            bm.BatchAxis(),
            bm.ChannelAxis(channel_names=[bm.Identifier(n) for n in channel_names]),
            *[
                bm.SpaceOutputAxisWithHalo(
                    id=bm.AxisId(a),
                    halo=HALO,
                    unit=units.get(a),
                    scale=scales.get(a, 1.0),
                    size=bm.SizeReference(tensor_id=bm.TensorId("input"), axis_id=bm.AxisId(a)),
                )
                for a in spatial
            ],
        ],
        test_tensor=bm.FileDescr(source=folder / "test_output.npy"),
        sample_tensor=bm.FileDescr(source=folder / "sample_output.tif"),
        data=bm.IntervalOrRatioDataDescr(type="float32"),
    )
    torch_version = bm.Version(torch.__version__.split("+")[0])
    weights = bm.WeightsDescr(
        pytorch_state_dict=bm.PytorchStateDictWeightsDescr(
            source=folder / "weights.pt",
            architecture=bm.ArchitectureFromFileDescr(
                source=folder / PACKAGE_NETWORK_NAME,
                callable=bm.Identifier(NETWORK_CALLABLE),
                kwargs=network_kwargs(model),
            ),
            pytorch_version=torch_version,
        ),
        torchscript=bm.TorchscriptWeightsDescr(
            source=folder / "weights_torchscript.pt",
            pytorch_version=torch_version,
            parent="pytorch_state_dict",
        ),
        onnx=bm.OnnxWeightsDescr(
            source=folder / ONNX_WEIGHTS,
            opset_version=OPSET,
            parent="pytorch_state_dict",
        )
        if (folder / ONNX_WEIGHTS).is_file()
        else None,
    )
    s, t = model.summary, model.train_config
    steps = s.get("total_steps") or s.get("steps")
    training = bm.TrainingDetails(
        training_preprocessing=(
            "each training image standardised by its own per-channel mean and std; random patches of "
            f"{s.get('patch_size', t.patch_size)} px, randomly flipped and rotated by 90 degrees in the YX plane"
        ),
        training_batch_size=s.get("batch_size", t.batch_size),
        initial_learning_rate=t.learning_rate,
        learning_rate_schedule=describe_schedule(t.lr_schedule, t.lr_halve_every),
        loss_function="Noise2Same: mean((f(x) - x)^2) + lambda_inv * sqrt(mean over J of (f(x) - f(x_J))^2)"
        if t.method == "noise2same"
        else "masked MSE (blind spot)",
        loss_function_kwargs={
            "lambda_inv": _yaml_value(s.get("lambda_inv", t.lambda_inv)),
            "mask_percent": t.mask_percent,
            "replacement": t.replacement,
            "struct_mask": (s.get("struct_mask") or {}).get("struct_mask", "off"),
        },
        optimizer="torch.optim.Adam",
        training_duration=round(s["train_seconds"] / 3600, 4) if s.get("train_seconds") else None,
        steps=steps,
    )
    tolerance = _tolerance(test_output)
    config = bm.Config(
        bioimageio=bm.BioimageioConfig(
            reproducibility_tolerance=[tolerance],
            architecture_type=f"{model.dims}D residual U-Net",
            architecture_description=(
                f"two-level residual U-Net ({t.preset} preset, base width {model.unet_config.base_width}"
                + (", one network per channel: grouped convolutions" if model.unet_config.groups > 1 else "")
                + "); "
                "the input is standardised per image and channel inside the network and the output mapped back"
            ),
            task="denoising",
            model_parameter_count=count_parameters(model.net),
            training=training,
        ),
        napari_noise2same={
            "version": __version__,
            "axes": model.axes,
            "train_config": _yaml_value(t.to_dict()),
            "summary": _yaml_value(s),
            "normalization": _yaml_value(model.normalization),
        },
    )
    tags = [
        "denoising",
        "noise2same",
        "self-supervised",
        "unet",
        "pytorch",
        "napari",
        ("3d" if model.dims == 3 else "2d") + ("-t" if "T" in model.axes else ""),
    ]
    return bm.ModelDescr(
        name=name,
        description=(
            f"Noise2Same self-supervised denoiser for {model.dims}D images with {model.channels} "
            f"channel(s), trained with napari-noise2same on the user's own noisy data"
        ),
        authors=[bm.Author(name=a) for a in authors],
        cite=[bm.CiteEntry(text=CITATION, doi=bm.Doi(CITATION_DOI))],
        license=bm.LicenseId("BSD-3-Clause"),
        tags=tags,
        documentation=bm.FileDescr(source=folder / "README.md"),
        covers=[bm.FileDescr(source=folder / "cover.png")],
        inputs=[inputs],
        outputs=[outputs],
        weights=weights,
        config=config,
    )


def _tolerance(test_output: np.ndarray):
    """Reproduction tolerance in the output's own units (bioimage.io caps the absolute part at
    1 % of the test output's maximum)."""
    from bioimageio.spec.model import v0_5 as bm

    spread = float(np.percentile(test_output, 99.9) - np.percentile(test_output, 0.1)) or 1.0
    atol = 1e-3 * spread
    top = float(np.max(test_output))
    atol = min(atol, 0.01 * top) if top > 0 else 0.0
    return bm.ReproducibilityTolerance(relative_tolerance=1e-3, absolute_tolerance=atol)


def _pixel_sizes(summary: dict, spatial: str) -> tuple[dict, dict]:
    """Units and pixel sizes per spatial axis, where the model's summary carries them."""
    from ..io.tiff_metadata import normalise_unit
    from ..io.zarr_images import OME_UNITS  # the package's unit spellings -> OME names, as bioimage.io has them

    sizes = summary.get("pixel_size") or {}
    ome_units = {k.lower(): v for k, v in OME_UNITS.items()}
    unit = ome_units.get((normalise_unit(summary.get("unit")) or "").lower())
    if not isinstance(sizes, dict) or unit is None:
        return {}, {}
    scales = {}
    for a in spatial:
        value = sizes.get(a.upper(), sizes.get(a))
        if isinstance(value, (int, float)) and math.isfinite(value) and value > 0:
            scales[a] = _halo_exact(float(value))
    if not scales:
        return {}, {}
    return dict.fromkeys(scales, unit), scales


def _halo_exact(scale: float) -> float:
    """``scale`` moved by a few units in the last place, if need be, so that bioimage.io's check
    that ``halo * scale / scale`` is a whole number holds in floating point (0.2 fails it)."""
    for _ in range(100):
        if HALO * scale / scale == HALO:
            return scale
        scale = math.nextafter(scale, math.inf)
    return scale


def _yaml_value(value):
    """JSON-compatible copy (tuples to lists, numpy scalars to numbers, non-finite to None)."""
    if isinstance(value, dict):
        return {str(k): _yaml_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_yaml_value(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
