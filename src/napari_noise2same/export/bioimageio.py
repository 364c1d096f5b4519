"""Export a trained Noise2Same model as a bioimage.io model package (model spec 0.5).

The package is a zip of ``rdf.yaml`` and the files it names:

* ``noise2same_unet.py``: the network as a self-contained PyTorch source file (torch only),
  the architecture of the ``pytorch_state_dict`` weights ``weights.pt``;
* ``weights_torchscript.pt``: the same network compiled with ``torch.jit.script``;
* ``test_input.npy`` / ``test_output.npy`` (and TIFF copies as sample tensors);
* ``cover.png`` (noisy | denoised) and ``README.md`` (what the model is, how it was trained).

Normalisation.  napari-noise2same standardises every image by its own per-channel mean
and standard deviation and maps the network's output back with the same two numbers.
bioimage.io 0.5 has a per-sample ``zero_mean_unit_variance`` preprocessing, but no
postprocessing that undoes it with the *input's* statistics (``scale_mean_variance``
re-standardises the output by its own statistics first, which would give a denoised
image the noisy image's variance), so the standardisation lives inside the network
(see ``noise2same_unet.py``) and the package declares no normalisation steps.  Any
consumer that runs the weights therefore reproduces napari-noise2same's output.

bioimage.io is imported inside the function: the extra ``napari-noise2same[bioimageio]``
is needed only to export.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from ..errors import ImageError, Noise2SameError

if TYPE_CHECKING:
    from ..engine.model import Noise2SameModel

#: the self-contained network source shipped in every package, and the class it defines
NETWORK_FILE = Path(__file__).with_name("noise2same_unet.py")
NETWORK_CALLABLE = "Noise2SameUNet"
EXTRA_HINT = "bioimage.io export needs the optional extra: pip install 'napari-noise2same[bioimageio]'"
#: output pixels this close to a tile's edge lack context (the network's receptive radius);
#: tiling consumers crop it, so tiles must overlap by twice this
HALO = 24
#: largest test image per spatial axis (a centred crop of a larger sample)
TEST_SIDE = {2: (256, 256), 3: (64, 64, 64)}
#: top-left corner of the built-in 2D test image in scikit-image's cell picture: the cell and background
CELL_CROP = (248, 294)
CITATION = (
    "Xie Y, Wang Z, Ji S. Noise2Same: Optimizing A Self-Supervised Bound for Image Denoising. "
    "Advances in Neural Information Processing Systems 33 (NeurIPS 2020)."
)
CITATION_DOI = "10.48550/arXiv.2010.11971"  # the paper's arXiv record
DEFAULT_AUTHORS = ["napari-noise2same user"]
_SPACE_UNITS = {
    "um": "micrometer", "µm": "micrometer", "μm": "micrometer", "micron": "micrometer", "micrometer": "micrometer",
    "nm": "nanometer", "nanometer": "nanometer", "mm": "millimeter", "millimeter": "millimeter",
    "angstrom": "angstrom", "å": "angstrom", "m": "meter", "meter": "meter",
}


def export_bioimageio(
    model: "Noise2SameModel | str | os.PathLike",
    output: str | os.PathLike,
    *,
    sample: np.ndarray | None = None,
    sample_axes: str | None = None,
    name: str | None = None,
    authors: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Write ``model`` (a :class:`Noise2SameModel` or a ``.n2s`` path) as a bioimage.io package ``output`` (.zip).

    ``sample`` is the test image (axes ``sample_axes``, default the model's axes or its
    spatial axes): its first time point/plane, centre-cropped to at most 256x256 (2D) or
    64^3 (3D); at least 49 px per spatial axis.  Without one, a built-in noisy example is
    used.  ``name`` defaults to the model file's stem, ``authors`` to a placeholder.
    ``progress(message)`` is called before each step.  Returns ``output``.
    Raises :class:`Noise2SameError` (one sentence with the fix) for a missing extra,
    an unwritable output or a sample that does not fit the model.
    """
    say = progress or (lambda message: None)
    spec = _import_bioimageio()
    output = _check_output(Path(output))
    source_name = None
    if not _is_model(model):
        from ..engine.model_file import load_model

        say(f"loading {model}")
        source_name = Path(model).stem
        model = load_model(model)
    name = _model_name(name, source_name or output.stem)
    authors = _authors(authors)
    test_input = _test_input(model, sample, sample_axes)

    with tempfile.TemporaryDirectory(prefix="n2s-bioimageio-") as tmp:
        folder = Path(tmp)
        say("writing weights (state dict and TorchScript)")
        network = _write_weights(model, folder)
        say("computing the test output")
        test_output = _run(network, test_input)
        _check_against_engine(model, test_input, test_output)
        np.save(folder / "test_input.npy", test_input)
        np.save(folder / "test_output.npy", test_output)
        _write_tiff(folder / "sample_input.tif", test_input)
        _write_tiff(folder / "sample_output.tif", test_output)
        shutil.copyfile(NETWORK_FILE, folder / NETWORK_FILE.name)
        _write_cover(folder / "cover.png", test_input, test_output)
        (folder / "README.md").write_text(_readme(model, name, test_input.shape), encoding="utf-8")
        say("describing the package")
        try:
            descr = _describe(model, folder, name, authors, test_output)
        except ValueError as e:  # pydantic's ValidationError is a ValueError
            if "index_key" in str(e):  # bioimageio.spec < 0.5.14 serialises in a way pydantic 2.14 refuses
                raise Noise2SameError(
                    "this bioimageio.spec does not work with pydantic >= 2.14; install a working pair: "
                    "pip install 'pydantic<2.14'"
                ) from None
            raise
        say("validating and zipping the package")
        zipped = folder / "package.zip"
        try:
            spec.save_bioimageio_package(descr, output_path=zipped)
        except ValueError as e:  # the package did not validate: our bug, not the user's
            raise RuntimeError(f"the exported package is not valid bioimage.io: {e}") from e
        from ..engine.atomic import atomic_write

        say(f"writing {output}")
        atomic_write(output, lambda f: _copy_file(zipped, f))
    return output


def _copy_file(source: Path, target) -> None:
    with open(source, "rb") as f:
        shutil.copyfileobj(f, target, 2**20)


# -- checks -----------------------------------------------------------------------------------
def _import_bioimageio():
    try:
        import bioimageio.spec as spec
        from bioimageio.spec.model import v0_5  # noqa: F401
    except ImportError:
        raise Noise2SameError(EXTRA_HINT) from None
    return spec


def _is_model(model) -> bool:
    from ..engine.model import Noise2SameModel

    return isinstance(model, Noise2SameModel)


def _check_output(output: Path) -> Path:
    if output.suffix.lower() != ".zip":
        raise Noise2SameError(f"{output} is not a .zip path; name the bioimage.io package e.g. {output.stem}.zip")
    folder = output.parent
    if not folder.is_dir():
        raise Noise2SameError(f"folder {folder} does not exist; create it or choose another output path")
    if output.is_dir():
        raise Noise2SameError(f"{output} is a folder; choose a file name for the package")
    if not os.access(folder, os.W_OK):
        raise Noise2SameError(f"cannot write to {folder}; choose a writable folder")
    return output


def _model_name(name: str | None, fallback: str) -> str:
    """bioimage.io names: 5 to 128 letters, digits, spaces and _+-()."""
    if name is not None:
        name = name.strip()
        if not re.fullmatch(r"[A-Za-z0-9_+\- ()]{5,128}", name):
            raise Noise2SameError(
                f"model name {name!r} is not allowed by bioimage.io; use 5 to 128 letters, digits, spaces or _+-()"
            )
        return name
    stem = re.sub(r"[^A-Za-z0-9_+\- ()]+", "-", fallback).strip("- ") or "model"
    name = stem if stem.lower().startswith("noise2same") else f"Noise2Same {stem}"
    return name[:128]


def _authors(authors: list[str] | None) -> list[str]:
    if authors is None:
        return list(DEFAULT_AUTHORS)
    if isinstance(authors, str):
        authors = [authors]
    cleaned = [str(a).strip() for a in authors if str(a).strip()]
    if not cleaned or any("/" in a for a in cleaned):
        raise Noise2SameError("authors must be one or more names without '/', e.g. ['Ada Lovelace']")
    return cleaned


# -- the test image ---------------------------------------------------------------------------
def _test_input(model, sample, sample_axes: str | None) -> np.ndarray:
    """The test input as float32 (1, C, *spatial): the sample's first time point/plane, centre-cropped."""
    if sample is None:
        return _builtin_sample(model)
    from ..engine.arrays import read_block, spatial_shape
    from ..engine.axes import make_layout

    shape = tuple(np.shape(sample))
    axes = sample_axes if sample_axes is not None else _guess_axes(model, len(shape))
    layout = make_layout(shape, axes, model.dims)
    if layout.channels != model.channels:
        raise ImageError(
            f"the model expects {model.channels} channel(s) but the sample has {layout.channels} "
            f"(axes {layout.axes}, shape {shape}); pass a sample with {model.channels} channel(s) or fix sample_axes"
        )
    crop = []
    for axis, size, limit in zip(layout.spatial_axes, spatial_shape(layout), TEST_SIDE[model.dims]):
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


def _guess_axes(model, ndim: int) -> str:
    spatial = "ZYX" if model.dims == 3 else "YX"
    for axes in (model.axes, spatial, "C" + spatial):
        if len(axes) == ndim:
            return axes
    raise ImageError(
        f"cannot tell the axes of a {ndim}-D sample for a model trained on {model.axes}; "
        f"pass sample_axes, e.g. {model.axes!r}"
    )


def _builtin_sample(model) -> np.ndarray:
    """A noisy example with the model's channels: a crop of a noisy cell image (2D) or a
    synthetic noisy volume (3D), fixed seeds."""
    from ..examples import noisy_cell, poisson_gaussian, synthetic_cells

    if model.dims == 2:
        h, w = TEST_SIDE[2]
        planes = []
        for c in range(model.channels):
            noisy = noisy_cell(seed=c)[0]
            y0, x0 = (min(o, s - n) for o, s, n in zip(CELL_CROP, noisy.shape, (h, w)))
            planes.append(noisy[y0:y0 + h, x0:x0 + w])
        image = np.stack(planes)
    else:
        shape = (max(min_input_size(), 32), 64, 64)
        clean = synthetic_cells(shape, seed=0)
        image = np.stack([poisson_gaussian(clean, photons=10.0, seed=c) for c in range(model.channels)])
    return np.ascontiguousarray(image[None], dtype=np.float32)


def min_input_size() -> int:
    """Smallest spatial side the package accepts: bioimage.io wants room for the halo on both sides
    (any larger size works: the network pads to its multiple of 4 itself)."""
    from ..engine.tiling import MIN_INPUT

    return max(MIN_INPUT, 2 * HALO + 1)


# -- weights and test output ------------------------------------------------------------------
def _write_weights(model, folder: Path):
    """Save the state dict and the TorchScript module; return the exported network (eager, eval)."""
    import torch

    from .noise2same_unet import Noise2SameUNet

    state = {k: v.detach().cpu().contiguous() for k, v in model.net.state_dict().items()}
    network = Noise2SameUNet(**_network_kwargs(model))
    network.load_state_dict(state, strict=True)
    network.eval()
    torch.save(state, folder / "weights.pt")
    torch.jit.script(network).save(str(folder / "weights_torchscript.pt"))
    return network


def _network_kwargs(model) -> dict:
    return {"dims": model.dims, "channels": model.channels, "base_width": model.unet_config.base_width}


def _run(network, test_input: np.ndarray) -> np.ndarray:
    import torch

    with torch.no_grad():
        return network(torch.from_numpy(test_input)).numpy().astype(np.float32)


def _check_against_engine(model, test_input: np.ndarray, test_output: np.ndarray) -> None:
    """The package's network must denoise like napari-noise2same itself (checked on the CPU, on a
    copy: the engine moves the network it predicts with, and the caller's model stays where it is)."""
    spatial = "ZYX" if model.dims == 3 else "YX"
    on_cpu = dataclasses.replace(model, net=copy.deepcopy(model.net).cpu())
    ours = on_cpu.predict(test_input[0], "C" + spatial, device="cpu")
    scale = float(np.std(test_input)) or 1.0
    err = float(np.max(np.abs(ours - test_output[0]))) / scale
    if not err < 1e-3:
        raise RuntimeError(f"the exported network differs from napari-noise2same's predictor ({err:.2g} std)")


# -- pictures and documents -------------------------------------------------------------------
def _write_tiff(path: Path, tensor: np.ndarray) -> None:
    import tifffile

    tifffile.imwrite(path, tensor[0])  # (C, [Z,] Y, X): the batch axis left out


def _write_cover(path: Path, test_input: np.ndarray, test_output: np.ndarray) -> None:
    """noisy | denoised, first channel (middle plane for 3D), same display range, 2:1."""
    from PIL import Image, ImageDraw

    def plane(t):
        p = t[0, 0]
        return p[p.shape[0] // 2] if p.ndim == 3 else p

    noisy, denoised = plane(test_input), plane(test_output)
    lo, hi = np.percentile(noisy, [0.5, 99.8])
    hi = hi if hi > lo else lo + 1.0
    both = np.concatenate([noisy, denoised], axis=1)
    pixels = (np.clip((both - lo) / (hi - lo), 0, 1) * 255).astype(np.uint8)
    image = Image.fromarray(pixels, mode="L")
    zoom = max(1, 256 // pixels.shape[0])
    image = image.resize((image.width * zoom, image.height * zoom), Image.NEAREST)
    draw = ImageDraw.Draw(image)
    for x, label in ((4, "noisy"), (image.width // 2 + 4, "Noise2Same")):
        draw.text((x + 1, 5), label, fill=0)
        draw.text((x, 4), label, fill=255)
    image.save(path)


def _describe(model, folder: Path, name: str, authors: list[str], test_output: np.ndarray):
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
            *[bm.SpaceInputAxis(id=bm.AxisId(a), size=size, unit=units.get(a), scale=scales.get(a, 1.0))
              for a in spatial],
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
            *[bm.SpaceOutputAxisWithHalo(
                id=bm.AxisId(a), halo=HALO, unit=units.get(a), scale=scales.get(a, 1.0),
                size=bm.SizeReference(tensor_id=bm.TensorId("input"), axis_id=bm.AxisId(a)))
              for a in spatial],
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
                source=folder / NETWORK_FILE.name, callable=bm.Identifier(NETWORK_CALLABLE),
                kwargs=_network_kwargs(model),
            ),
            pytorch_version=torch_version,
            comment=f"trained with napari-noise2same {model.summary.get('package_version', __version__)}",
        ),
        torchscript=bm.TorchscriptWeightsDescr(
            source=folder / "weights_torchscript.pt",
            pytorch_version=torch_version,
            parent="pytorch_state_dict",
            comment="torch.jit.script of the state-dict network (scripted, so any input size works)",
        ),
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
        learning_rate_schedule=f"halved every {t.lr_halve_every} steps",
        loss_function="Noise2Same: mean((f(x) - x)^2) + lambda_inv * sqrt(mean over J of (f(x) - f(x_J))^2)"
        if t.method == "noise2same" else "masked MSE (blind spot)",
        loss_function_kwargs={
            "lambda_inv": _yaml_value(s.get("lambda_inv", t.lambda_inv)),
            "mask_percent": t.mask_percent,
            "replacement": t.replacement,
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
                f"two-level residual U-Net ({t.preset} preset, base width {model.unet_config.base_width}); "
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
    tags = ["denoising", "noise2same", "self-supervised", "unet", "pytorch", "napari",
            ("3d" if model.dims == 3 else "2d") + ("-t" if "T" in model.axes else "")]
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
    sizes = summary.get("pixel_size") or {}
    unit = _SPACE_UNITS.get(str(summary.get("unit") or "").strip().lower())
    if not isinstance(sizes, dict) or unit is None:
        return {}, {}
    scales = {}
    for a in spatial:
        value = sizes.get(a.upper(), sizes.get(a))
        if isinstance(value, (int, float)) and math.isfinite(value) and value > 0:
            scales[a] = _halo_exact(float(value))
    if not scales:
        return {}, {}
    return {a: unit for a in scales}, scales


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


def _readme(model, name: str, test_shape: tuple) -> str:
    from .. import __version__

    s, t = model.summary, model.train_config
    steps = s.get("total_steps") or s.get("steps")
    spatial = "ZYX" if model.dims == 3 else "YX"
    lam = s.get("lambda_inv", t.lambda_inv)
    lam_text = f"auto = {lam:.3g} (2 x the estimated noise std)" if t.lambda_inv == "auto" and isinstance(
        lam, (int, float)) else f"{lam}"
    rows = [
        ("network", f"{model.dims}D residual U-Net, preset `{t.preset}` (base width {model.unet_config.base_width})"),
        ("channels", str(model.channels)),
        ("axes of the training data", f"`{model.axes}`"),
        ("training steps", _fmt(steps)),
        ("batch size", _fmt(s.get("batch_size", t.batch_size))),
        ("patch size", _fmt(s.get("patch_size", t.patch_size))),
        ("loss", "Noise2Same" if t.method == "noise2same" else "blind spot (masked MSE)"),
        ("lambda_inv", lam_text),
        ("mask percent", f"{t.mask_percent} %"),
        ("mask replacement", f"{t.replacement} (sigma {t.mask_sigma})"),
        ("learning rate", f"{t.learning_rate}, halved every {t.lr_halve_every} steps (Adam)"),
        ("final loss", _fmt(s.get("final_loss"))),
        ("final validation loss", _fmt(s.get("final_val_loss"))),
        ("D(f) (J-invariance, 0 = blind spot)", _fmt(s.get("invariance_D"))),
        ("training time", f"{s['train_seconds']:.0f} s on {s.get('device', '?')}" if s.get("train_seconds") else "?"),
        ("trained on (samples, channels, spatial)", _fmt(s.get("trained_on"))),
        ("date", _fmt(s.get("date"))),
        ("napari-noise2same", f"{s.get('package_version', '?')} (exported with {__version__})"),
    ]
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    return f"""# {name}

A self-supervised **Noise2Same** denoiser, trained with napari-noise2same (a napari plugin and
command-line tool) on noisy images alone, without clean targets, and exported as a bioimage.io
model package.

## What it does

Input: a noisy {model.dims}D image with {model.channels} channel(s), axes
`batch, channel, {', '.join(spatial.lower())}`, any size of at least {min_input_size()} px per spatial
axis.  Output: the denoised image, same shape, float32, in the input's intensity units.

The network standardises each image (each batch entry and channel) by its own mean and
standard deviation, denoises it and maps the result back with the same two numbers, exactly
as napari-noise2same does; the package therefore declares no pre- or postprocessing besides
conversion to float32.  The U-Net needs sides that are multiples of 4: the network mirrors the
end of each side up to the next multiple and crops the output back, again as napari-noise2same
does.

Consumers that cut an image into tiles (bioimageio.core's blockwise mode; deepImageJ may tile
large images) standardise each tile on its own, which shifts intensities a little from tile to tile:
predict whole images when they fit in memory, else use tiles of 256 px or more.  Output pixels
closer than {HALO} px to a tile's edge lack context (the output halo), so tiles must overlap.

## Training

Trained by napari-noise2same with the Noise2Same loss (reconstruction on all pixels plus
lambda_inv times the square root of the invariance term on the masked set J):

| setting | value |
|---|---|
{table}

The network is the two-level residual U-Net of the official Noise2Same implementation
(pre-activation residual blocks, stride-2 convolutions down, transposed convolutions up,
concatenated skips, a BN-ReLU-1x1 head), at the preset's width.

## Validation

The test input (`test_input.npy`, shape {tuple(test_shape)}) is a noisy example and
`test_output.npy` what this package's network makes of it; bioimage.io's `test_model` checks
that both weight formats reproduce it.  At export the output was also checked against
napari-noise2same's own predictor.  Noise2Same learns from the noisy data itself, so check the
result on your own images: compare the denoised image with the noisy one (and, where you have
one, with a long-exposure or averaged image of the same field) and look for blurred fine
structures or structure-like artefacts in background regions.

## Limitations

The model has seen only the images it was trained on: use it on images of the same kind
(microscope, sample, noise level).  It removes noise that is independent from pixel to pixel;
structured noise (stripes, correlated camera noise) remains.

## Citation

{CITATION} arXiv:2010.11971, doi:{CITATION_DOI}.

## License

BSD-3-Clause (the network code and these weights).
"""


def _fmt(value) -> str:
    if value is None:
        return "?"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
