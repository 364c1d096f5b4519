"""``noise2same predict``: denoise files, folders, zarr arrays and OME-Zarr images with a model.

TIFF and PNG inputs become TIFFs, streamed plane by plane.  Zarr inputs (or any input
with ``-o OUT.zarr``, or with ``--scheduler``) go through the out-of-core path: a dask
graph of overlapping chunks (engine/chunked.py) written chunk by chunk, computed here
one chunk at a time or on a dask.distributed cluster.
"""

from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import replace
from pathlib import Path

from ..batch import check_not_an_input, denoise_to_tiff, is_zarr_name, model_axes, output_path, read_input
from ..engine.predict_options import DEFAULT_TILE, ENGINES, ESTIMATES, OVERLAP, PRECISIONS, PredictOptions
from ..errors import Noise2SameError
from .common import DEVICE_HELP, check_writable, device, output_folder


def add_parser(sub) -> None:
    q = sub.add_parser(
        "predict",
        help="denoise images with a trained model",
        description="Denoise images with a trained model: TIFF/PNG files, folders and globs, "
        "zarr arrays and OME-Zarr images, on this machine or a dask cluster.",
    )
    q.add_argument("inputs", nargs="+", metavar="INPUT", help="TIFF or PNG files, folders or globs; zarr or OME-Zarr")
    q.add_argument("-m", "--model", required=True, help="model file (.n2s)")
    q.add_argument(
        "-o",
        "--output",
        required=True,
        help="output folder (writes <input>_denoised.tif, or .zarr for zarr inputs), or OUT.zarr for one input",
    )
    q.add_argument("--axes", help="axes of the inputs over STCZYX (default: read from the file)")
    q.add_argument(
        "--tile-size",
        type=int,
        help="tile side in pixels (default: the whole image when it fits, else "
        + " in 2D, ".join(" x ".join(map(str, DEFAULT_TILE[d])) for d in (2, 3))
        + " in 3D)",
    )
    q.add_argument("--overlap", type=int, help=f"tile overlap in pixels (default {OVERLAP})")
    q.add_argument("--tta", action="store_true", help="average the 8 rotations and flips (slower, slightly better)")
    q.add_argument(
        "--uncertainty",
        action="store_true",
        help="also write <input>_uncertainty.tif: per pixel, how wrong the denoised value may be, in the "
        "image's units (docs/quality.md)",
    )
    q.add_argument(
        "--estimate",
        choices=ESTIMATES,
        default="auto",
        help="n2s: the network's output (Noise2Same); posterior: each pixel's context prediction combined with its "
        "own value through the noise model (PyTorch, TIFF outputs, about 9x the time); auto (default): what the "
        "model file records (noise2same info shows it)",
    )
    q.add_argument(
        "--noise-model",
        metavar="FILE",
        help="a noise-model file (JSON, docs/quality.md) for the posterior estimate, in place of the one the model "
        "records or the fit on each image",
    )
    q.add_argument("--device", default="auto", help=DEVICE_HELP)
    q.add_argument(
        "--engine",
        choices=ENGINES,
        default="auto",
        help="torch, onnx (ONNX Runtime on the CPU; needs the onnx extra) or auto (default: ONNX Runtime on a "
        "machine without a GPU when it is installed and the model carries its ONNX network)",
    )
    q.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="float32",
        help="bfloat16: the network in PyTorch under bfloat16 autocast; on a CPU with AVX-512 BF16 or AMX (recent "
        "Xeon and EPYC) 2.2-2.6x faster than float32 (2D: 1.6x faster than ONNX Runtime), within 0.004 dB in our "
        "measurements; slower on other CPUs. The output then depends on the CPU (default float32)",
    )
    q.add_argument(
        "--chunk-size", type=int, help="chunk side for zarr outputs (default 2048 px in 2D, 64 x 512 x 512 in 3D)"
    )
    q.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the chunks on this dask.distributed scheduler, e.g. tcp://host:8786 "
        "(workers must see the model and image files at the same paths)",
    )
    q.set_defaults(func=run)


def run(args) -> int:
    from tqdm import tqdm

    from ..io import find_inputs

    options = _options(args)  # settings that do not go together are told first
    paths = find_inputs(args.inputs)  # then a mistake in the inputs or the output, before the model loads
    out = Path(args.output)
    if is_zarr_name(out):
        if len(paths) != 1:
            raise Noise2SameError(
                f"-o {out} names one zarr output but there are {len(paths)} inputs; give an output folder"
            )
        check_writable(out, "the result", "denoised.zarr")
    model = _load(args)
    _tell_estimate(model, options)
    if not is_zarr_name(out):
        output_folder(out)
    inputs = {p.resolve() for p in paths}
    started, failed = time.perf_counter(), 0
    with _scheduler(args.scheduler):
        for path in tqdm(paths, unit="image", file=sys.stderr, disable=None if len(paths) > 1 else True):
            t0 = time.perf_counter()
            try:
                target = output_path(path, out)
                check_not_an_input(target, inputs)
                _predict_one(model, path, target, args, options)
            except Noise2SameError as e:
                if len(paths) == 1:
                    if e.path is not None:
                        raise
                    raise type(e)(f"{path}: {e.message}", path=path, fixes=e.fixes) from None
                failed += 1
                tqdm.write(f"noise2same: skipped {path}: {e}", file=sys.stderr)
                continue
            tqdm.write(f"{path} -> {target} ({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    done = len(paths) - failed
    print(f"denoised {done} of {len(paths)} image(s) in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 2 if failed else 0


def _predict_one(model, path: Path, target: Path, args, options: PredictOptions) -> None:
    import numpy as np

    image = read_input(path, args.axes)
    with _local_chunks(args.scheduler, is_zarr_name(target) or not isinstance(image.data, np.ndarray)):
        _denoise(model, image, target, args, options)


def _denoise(model, image, target: Path, args, options: PredictOptions) -> None:
    if is_zarr_name(target) or args.scheduler:
        if args.uncertainty:
            raise Noise2SameError("--uncertainty writes TIFFs: give an output folder, not zarr or a cluster")
        _predict_chunked(model, image, model_axes(model, image), target, args, options)
    else:
        denoise_to_tiff(model, image, target, options)
        if args.uncertainty:
            write_uncertainty(model, image, target)


def write_uncertainty(model, image, target: Path) -> Path:
    """``<stem>_uncertainty.tif`` beside ``<stem>_denoised.tif``: the same shape, axes and metadata."""
    from ..engine.uncertainty import uncertainty
    from ..io.images import write_tiff

    axes = model_axes(model, image)
    stem = target.name[: -len("_denoised.tif")] if target.name.endswith("_denoised.tif") else target.stem
    path = target.with_name(f"{stem}_uncertainty.tif")
    check_not_an_input(path, {Path(image.path).resolve()} if image.path else set())
    return write_tiff(
        path,
        uncertainty(model, image.data, axes),
        image.axes,
        image.pixel_size,
        image.unit,
        time_interval=image.time_interval,
        channel_names=image.channel_names,
    )


def _tell_estimate(model, options: PredictOptions) -> None:
    """One line on the estimate taken (and a calibration's channels checked against the model)."""
    from ..engine.predict_options import resolve_estimate

    chosen = resolve_estimate(options, model)
    if options.noise_model is not None:
        options.noise_model.check_channels(model.channels)  # type: ignore[attr-defined]
        if chosen != "posterior":
            print("note: only the posterior estimate uses the noise model (--estimate posterior)", file=sys.stderr)
    if chosen == "posterior":
        how = "chosen by hand" if options.estimate == "posterior" else "as the model records"
        print(f"estimate: the posterior mean ({how}; about 9x the time of the network's output)", file=sys.stderr)


def _load(args):
    return load_for_engine(args.model, args.device, args.engine, args.precision, args.estimate, args.tta)


def load_for_engine(
    path, device_name: str, engine: str, precision: str = "float32", estimate: str = "n2s", tta: bool = False
):
    """The model for the engine that will run it: ONNX Runtime without torch where it can (the
    Noise2Same estimate), else the PyTorch model on ``device_name``."""
    from ..engine.model_file import read_metadata
    from ..engine.onnx_model import has_onnx, load_onnx_model
    from ..engine.predict_options import choose_engine, recorded_estimate

    cpu = device_name == "cpu" or (device_name == "auto" and not gpu_possible())
    meta = read_metadata(path)
    dims = meta.get("unet", {}).get("dims", 2)
    if estimate == "auto" and not tta and engine != "onnx":
        estimate = recorded_estimate(meta.get("summary"))
    onnx = choose_engine(PredictOptions(engine=engine, precision=precision), has_onnx(path), cpu, dims) == "onnx"
    if onnx and estimate != "posterior":
        if device_name not in ("auto", "cpu"):
            raise Noise2SameError("ONNX Runtime runs on the CPU here; use --device cpu, or --engine torch for a GPU")
        return load_onnx_model(path)
    from ..engine import load_model

    return load_model(path, device=device(device_name))


def gpu_possible() -> bool:
    """Whether PyTorch might find a GPU here, told without importing torch: an NVIDIA device node,
    or an Apple silicon Mac (MPS)."""
    import platform

    if platform.system() == "Darwin" and platform.machine() == "arm64":
        return True
    return any(Path(p).exists() for p in ("/dev/nvidia0", "/dev/nvidiactl", "/proc/driver/nvidia"))


def _options(args) -> PredictOptions:
    noise_model = None
    if args.noise_model:
        from ..engine.noise_calibration import load_noise_model

        noise_model = load_noise_model(args.noise_model)
    return PredictOptions(
        tile_size=args.tile_size,
        overlap=args.overlap,
        tta=args.tta,
        engine=args.engine,
        precision=args.precision,
        estimate=args.estimate,
        noise_model=noise_model,
    )


def _predict_chunked(model, f, axes: str, target: Path, args, options: PredictOptions) -> None:
    """Denoise one image as overlapping dask chunks into zarr (or a TIFF, chunk row by chunk row)."""
    import numpy as np

    from ..engine.chunked import denoise_dask
    from ..io.images import PlaneStream, write_tiff
    from ..io.zarr_images import write_zarr

    result = denoise_dask(
        model,
        f.data,
        axes,
        replace(options, device=args.device),
        model_path=Path(args.model).resolve() if args.scheduler else None,
        chunk_size=args.chunk_size,
    )
    meta = {"time_interval": f.time_interval, "channel_names": f.channel_names}
    with _progress():
        if is_zarr_name(target):
            plain_zarr = f.path is not None and f.path.is_dir() and not f.ome  # a plain array stays plain
            write_zarr(target, result, f.axes, f.pixel_size, f.unit, ome=not plain_zarr, **meta)
        elif f.axes.endswith("YX"):
            planes = (p for block in result.blocks for p in np.asarray(block).reshape(-1, *result.shape[-2:]))
            write_tiff(
                target, PlaneStream(result.shape, np.dtype(np.float32), planes), f.axes, f.pixel_size, f.unit, **meta
            )
        else:
            write_tiff(target, np.asarray(result), f.axes, f.pixel_size, f.unit, **meta)


@contextlib.contextmanager
def _local_chunks(address: str | None, chunked: bool):
    """Without a cluster, an image that goes through dask (read lazily, or written to zarr) has its
    chunks run here one at a time: torch already uses every core for each chunk.  dask is
    imported only then (67 ms of the command's start-up otherwise)."""
    if address is not None or not chunked:
        yield
        return
    import dask

    with dask.config.set(scheduler="synchronous"):
        yield


@contextlib.contextmanager
def _scheduler(address: str | None):
    """A dask.distributed client for ``address``; none without one (``_local_chunks``)."""
    if address is None:
        yield
        return
    try:
        from distributed import Client
    except ImportError:
        raise Noise2SameError(
            "--scheduler needs dask.distributed: pip install 'napari-noise2same[distributed]'"
        ) from None
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as e:
        raise Noise2SameError(
            f"cannot reach the dask scheduler at {address} ({type(e).__name__}); check the address, "
            "or start one with 'dask scheduler' and workers with 'dask worker ADDRESS'"
        ) from None
    with client:
        yield


@contextlib.contextmanager
def _progress():
    """dask's progress bar on a terminal (local scheduler only)."""
    if not sys.stderr.isatty():
        yield
        return
    from dask.diagnostics import ProgressBar

    with ProgressBar(out=sys.stderr):
        yield
