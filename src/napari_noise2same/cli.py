"""The ``noise2same`` command: train, predict, info and a self-contained demo.

User errors print one line on stderr and exit with status 2; set
NOISE2SAME_DEBUG=1 to see tracebacks.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from . import __version__
from .errors import Noise2SameError


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args) or 0
    except Noise2SameError as e:
        print(f"noise2same: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("noise2same: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # not a user error: keep it to one line unless debugging
        if os.environ.get("NOISE2SAME_DEBUG"):
            raise
        print(f"noise2same: internal error: {type(e).__name__}: {e} (NOISE2SAME_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    from .engine.loss import METHODS
    from .engine.masking import REPLACEMENTS
    from .engine.unet import DEFAULT_PRESET, PRESETS

    p = argparse.ArgumentParser(prog="noise2same", description="Self-supervised denoising with Noise2Same.")
    p.add_argument("--version", action="version", version=f"napari-noise2same {__version__}")
    sub = p.add_subparsers(metavar="COMMAND")

    t = sub.add_parser("train", help="train a model on noisy images", description="Train a Noise2Same model on noisy images alone.")
    t.add_argument("inputs", nargs="+", metavar="INPUT", help="TIFF or PNG files, folders or globs")
    t.add_argument("-o", "--output", required=True, help="model file to write (.n2s)")
    t.add_argument("--axes", help="axes of the inputs over STCZYX (default: read from the file)")
    t.add_argument("--dims", type=int, choices=(2, 3), default=2, help="2D or 3D model (default 2)")
    budget = t.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, help="number of training steps")
    budget.add_argument("--max-seconds", type=float, help="training time budget in seconds (default 300 unless --steps)")
    t.add_argument("--patch-size", type=int, default=64, help="patch side in Y and X (default 64)")
    t.add_argument("--batch-size", type=int, help="patches per step (default 64 on a GPU, 16 on the CPU; 4/2 in 3D)")
    t.add_argument("--mask-percent", type=float, default=0.5, help="percent of pixels in J (default 0.5)")
    t.add_argument("--lambda-inv", type=_lambda_inv, default=2.0, metavar="L",
                   help="weight of the invariance term (default 2, the paper's); 'auto': 2 x the estimated noise std")
    t.add_argument("--replacement", choices=REPLACEMENTS, default="gaussian", help="how J is replaced (default gaussian)")
    t.add_argument("--method", choices=METHODS, default="noise2same", help="loss (default noise2same)")
    t.add_argument("--preset", choices=list(PRESETS), default=DEFAULT_PRESET, help=f"network size (default {DEFAULT_PRESET}; paper = official 5.6M-parameter U-Net)")
    t.add_argument("--learning-rate", type=float, default=4e-4)
    t.add_argument("--val-fraction", type=float, default=0.05, help="fraction held out for validation (default 0.05)")
    t.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    t.add_argument("--seed", type=int)
    t.set_defaults(func=_train)

    q = sub.add_parser("predict", help="denoise images with a trained model", description="Denoise images with a trained model.")
    q.add_argument("inputs", nargs="+", metavar="INPUT", help="TIFF or PNG files, folders or globs")
    q.add_argument("-m", "--model", required=True, help="model file (.n2s)")
    q.add_argument("-o", "--output", required=True, help="output folder; writes <input stem>_denoised.tif")
    q.add_argument("--axes", help="axes of the inputs over STCZYX (default: read from the file)")
    q.add_argument("--tile-size", type=int, help="tile side in pixels (default: whole image when it fits)")
    q.add_argument("--overlap", type=int, help="tile overlap in pixels (default 96)")
    q.add_argument("--tta", action="store_true", help="average the 8 rotations and flips (slower, slightly better)")
    q.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    q.set_defaults(func=_predict)

    i = sub.add_parser("info", help="show what a model file holds")
    i.add_argument("model", help="model file (.n2s)")
    i.add_argument("--json", action="store_true", help="print the full metadata as JSON")
    i.set_defaults(func=_info)

    d = sub.add_parser("demo", help="train and denoise a built-in noisy example, printing PSNR", description="Denoise scikit-image's cell.png with added Poisson-Gaussian noise and print the PSNR before and after.")
    d.add_argument("--seconds", type=float, default=60, help="training time (default 60)")
    d.add_argument("-o", "--output", help="folder for noisy.tif, denoised.tif and model.n2s")
    d.add_argument("--preset", choices=list(PRESETS), default=DEFAULT_PRESET)
    d.add_argument("--device", default="auto")
    d.add_argument("--seed", type=int, default=0)
    d.set_defaults(func=_demo)
    return p


def _read_inputs(inputs, axes):
    from .io import find_inputs

    return [_read_input(path, axes) for path in find_inputs(inputs)]


def _read_input(path, axes):
    """One image file, its axes overridden by ``--axes`` when given."""
    from .engine.axes import check_axes
    from .io import read_image

    image = read_image(path)
    if axes:
        image.axes = check_axes(axes, image.data.ndim)
    return image


def _train(args) -> int:
    from .engine import Trainer, TrainConfig, TrainingData

    if args.max_seconds is None and args.steps is None:
        args.max_seconds = 300.0
    _check_writable(Path(args.output))
    files = _read_inputs(args.inputs, args.axes)
    try:
        config = TrainConfig(
            dims=args.dims, preset=args.preset, patch_size=args.patch_size, batch_size=args.batch_size,
            mask_percent=args.mask_percent, lambda_inv=args.lambda_inv, replacement=args.replacement,
            method=args.method, learning_rate=args.learning_rate, val_fraction=args.val_fraction, seed=args.seed,
        )
    except ValueError as e:
        raise Noise2SameError(str(e)) from None
    data = TrainingData.from_arrays(
        [f.data for f in files], [f.axes for f in files], dims=args.dims, patch_size=args.patch_size,
        val_fraction=args.val_fraction, names=[str(f.path) for f in files],
    )
    trainer = Trainer(data, config, axes=files[0].axes, device=args.device)
    print(
        f"training a {args.dims}D '{args.preset}' model on {len(files)} image(s) on {trainer.device}, "
        f"batch {trainer.batch_size} of {'x'.join(map(str, data.patch_size))} patches",
        file=sys.stderr,
    )
    _run_training(trainer, args.steps, args.max_seconds)
    model = trainer.to_model()
    model.save(args.output)
    s = model.summary
    print(
        f"saved {args.output}: {s['steps']} steps in {s['train_seconds']:.0f} s, loss {s['final_loss']:.4f} "
        f"(reconstruction {s['final_reconstruction']:.4f}, invariance {s['final_invariance']:.4f}), "
        f"J-invariance D(f) {s.get('invariance_D', float('nan')):.4f}"
    )
    return 0


def _run_training(trainer, steps, seconds) -> None:
    from tqdm import tqdm

    total = steps if steps is not None else round(seconds)
    unit = "step" if steps is not None else "s"
    with tqdm(total=total, unit=unit, dynamic_ncols=True, file=sys.stderr, disable=None) as bar:
        def on_event(e):
            bar.n = min(total, e.step - first if steps is not None else round(e.elapsed_s))
            post = {"step": e.step, "loss": f"{e.loss:.4f}", "it/s": f"{e.steps_per_s:.1f}"}
            if e.val_loss is not None:
                post["val"] = f"{e.val_loss:.4f}"
            bar.set_postfix(post, refresh=False)
            bar.refresh()

        first = trainer.step
        trainer.train(max_steps=steps, max_seconds=seconds, on_event=on_event)


def _predict(args) -> int:
    from tqdm import tqdm

    from .engine import load_model
    from .io import find_inputs

    model = load_model(args.model, device=_device(args.device))
    paths = find_inputs(args.inputs)
    outdir = _output_folder(Path(args.output))
    inputs = {p.resolve() for p in paths}
    started, failed = time.perf_counter(), 0
    for path in tqdm(paths, unit="image", file=sys.stderr, disable=None if len(paths) > 1 else True):
        try:
            target = _predict_file(model, path, outdir, args, inputs)
        except Noise2SameError as e:
            if len(paths) == 1:
                raise Noise2SameError(str(e) if str(path) in str(e) else f"{path}: {e}") from None
            failed += 1
            tqdm.write(f"noise2same: skipped {path}: {e}", file=sys.stderr)
            continue
        tqdm.write(f"{path} -> {target}", file=sys.stderr)
    done = len(paths) - failed
    print(f"denoised {done} of {len(paths)} image(s) in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 2 if failed else 0


def _predict_file(model, path: Path, outdir: Path, args, inputs: set[Path]) -> Path:
    """Denoise one file into ``outdir``, streaming planes to disk where the axes allow."""
    import numpy as np

    from .engine.axes import make_layout
    from .engine.predict import iter_planes, planes_in_order
    from .io.images import PlaneStream, write_tiff

    target = outdir / f"{path.stem}_denoised.tif"
    if target.resolve() in inputs:
        raise Noise2SameError(f"output {target} would overwrite an input; choose another output folder")
    f = _read_input(path, args.axes)
    axes = f.axes
    if model.dims == 3 and "Z" not in axes and "S" in axes:
        axes = axes.replace("S", "Z")  # an unnamed stack axis is the volume's Z for a 3D model
    options = dict(tile_size=args.tile_size, overlap=args.overlap, tta=args.tta)
    if planes_in_order(make_layout(tuple(f.data.shape), axes, model.dims)):
        planes = iter_planes(model, f.data, axes, **options)
        denoised = PlaneStream(tuple(f.data.shape), np.dtype(np.float32), planes)
    else:
        denoised = model.predict(f.data, axes, **options)
    write_tiff(target, denoised, f.axes, f.pixel_size, f.unit, time_interval=f.time_interval,
               channel_names=f.channel_names)
    return target


def _info(args) -> int:
    from .engine import read_metadata

    meta = read_metadata(args.model)
    if args.json:
        print(json.dumps(meta, indent=2))
        return 0
    u, t, s = meta["unet"], meta.get("train_config", {}), meta.get("summary", {})
    lines = [
        f"model       {args.model}",
        f"network     {u['dims']}D U-Net, base width {u['base_width']} (preset {t.get('preset', '?')}), {u['in_channels']} channel(s)",
        f"trained on  axes {meta.get('axes')}, shapes {s.get('trained_on')}",
        f"method      {t.get('method')}, mask {t.get('mask_percent')} %, lambda_inv {_lambda_text(t, s)}, {t.get('replacement')} replacement",
        f"training    {s.get('steps')} steps, {s.get('train_seconds')} s on {s.get('device')}, batch {s.get('batch_size')} x {s.get('patch_size')}",
        f"losses      total {_fmt(s.get('final_loss'))}, reconstruction {_fmt(s.get('final_reconstruction'))}, invariance {_fmt(s.get('final_invariance'))}, validation {_fmt(s.get('final_val_loss'))}",
        f"D(f)        {_fmt(s.get('invariance_D'))} (0 = blind spot; larger = output depends more on each pixel itself)",
        f"written by  napari-noise2same {meta.get('package_version')} on {s.get('date')}",
    ]
    print("\n".join(lines))
    return 0


def _demo(args) -> int:
    import numpy as np

    from .engine import TrainConfig, Trainer, TrainingData
    from .examples import noisy_cell, psnr

    noisy, clean = noisy_cell(seed=args.seed)
    print(f"demo: scikit-image cell.png {clean.shape} with Poisson-Gaussian noise; training {args.seconds:.0f} s", file=sys.stderr)
    config = TrainConfig(preset=args.preset, seed=args.seed)
    data = TrainingData.from_arrays([noisy], "YX", patch_size=config.patch_size, val_fraction=config.val_fraction)
    trainer = Trainer(data, config, axes="YX", device=args.device)
    _run_training(trainer, None, args.seconds)
    model = trainer.to_model()
    t0 = time.perf_counter()
    denoised = model.predict(noisy, "YX")
    predict_s = time.perf_counter() - t0
    print(f"PSNR noisy    {psnr(clean, noisy, 1.0):6.2f} dB")
    print(f"PSNR denoised {psnr(clean, denoised, 1.0):6.2f} dB  ({trainer.step} steps, {trainer.seconds:.0f} s training on {trainer.device}, prediction {predict_s:.2f} s)")
    if args.output:
        from .io import write_tiff

        out = _output_folder(Path(args.output))
        write_tiff(out / "noisy.tif", noisy, "YX")
        write_tiff(out / "denoised.tif", np.asarray(denoised), "YX")
        model.save(out / "model.n2s")
        print(f"wrote {out}/noisy.tif, denoised.tif and model.n2s", file=sys.stderr)
    return 0


def _lambda_text(config: dict, summary: dict) -> str:
    if config.get("lambda_inv") == "auto" and summary.get("lambda_inv") is not None:
        return f"auto = {summary['lambda_inv']:.3g} (2 x noise std {summary.get('noise_std_estimate', 0):.3g})"
    return str(config.get("lambda_inv"))


def _lambda_inv(text: str):
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'auto', not {text!r}") from None


def _fmt(v) -> str:
    return "n/a" if v is None else f"{v:.4g}"


def _device(name):
    from .engine.devices import resolve_device

    return resolve_device(name)


def _output_folder(folder: Path) -> Path:
    if folder.exists() and not folder.is_dir():
        raise Noise2SameError(f"output {folder} is a file; give a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise Noise2SameError(f"cannot create the output folder {folder} ({e.strerror}); choose another one") from None
    if not os.access(folder, os.W_OK):
        raise Noise2SameError(f"cannot write to {folder}; choose a writable output folder")
    return folder


def _check_writable(path: Path) -> None:
    if path.is_dir():
        raise Noise2SameError(f"{path} is a folder; give the model a file name, e.g. {path / 'model.n2s'}")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise Noise2SameError(f"folder {folder} does not exist; create it or choose another output path")
    if not os.access(folder, os.W_OK):
        raise Noise2SameError(f"cannot write to {folder}; choose a writable folder for the model")


if __name__ == "__main__":
    sys.exit(main())
