"""``noise2same train``: train a model on noisy images, or fine-tune one with ``--resume``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import Noise2SameError
from .common import DEVICE_HELP, check_writable, read_training_inputs

#: options that default to the resumed model's settings (or TrainConfig's for a new model)
CONFIG_OPTIONS = (
    "dims",
    "preset",
    "patch_size",
    "mask_percent",
    "lambda_inv",
    "replacement",
    "struct_mask",
    "method",
    "learning_rate",
    "lr_schedule",
    "val_fraction",
    "stop_when_done",
    "keep_best",
    "channel_mode",
    "augment",
    "estimate",
)


def add_parser(sub) -> None:
    from ..engine.config import (
        CHANNEL_MODES,
        CPU_BATCH,
        DEFAULT_BUDGET,
        GPU_BATCH,
        LEARNING_RATE,
        METHODS,
        PAPER_MASK_PERCENT,
        REPLACEMENTS,
        SHORT_RUN_SECONDS,
        TINY_LEARNING_RATE,
        TINY_MASK_PERCENT,
        TrainConfig,
    )
    from ..engine.geometry import PRESETS
    from ..engine.predict_options import ESTIMATES
    from ..engine.schedule import SCHEDULES, describe
    from ..engine.struct_mask import SETTING_HELP

    d = TrainConfig()  # the defaults

    t = sub.add_parser(
        "train",
        help="train a model on noisy images",
        description="Train a Noise2Same model on noisy images alone, or fine-tune one (--resume).",
    )
    t.add_argument("inputs", nargs="+", metavar="INPUT", help="TIFF or PNG files, folders or globs; zarr or OME-Zarr")
    t.add_argument("-o", "--output", required=True, help="model file to write (.n2s)")
    t.add_argument(
        "--resume",
        metavar="MODEL",
        help="fine-tune this model (.n2s) on the inputs: its weights and "
        "settings are the starting point; options given here override the settings",
    )
    t.add_argument("--axes", help="axes of the inputs over STCZYX (default: read from the file)")
    t.add_argument("--dims", type=int, choices=(2, 3), help=f"2D or 3D model (default {d.dims})")
    budget = t.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, help="number of training steps")
    budget.add_argument(
        "--max-seconds",
        type=float,
        help=f"training time budget in seconds (default {DEFAULT_BUDGET.seconds:g} unless --steps)",
    )
    t.add_argument(
        "--stop-when-done",
        action="store_true",
        default=None,
        help="end before the budget once the validation loss stops improving (after a short decay)",
    )
    t.add_argument(
        "--keep-best",
        action="store_true",
        default=None,
        help="end with the weights of the run's lowest validation loss where the last weights' is "
        "more than 1 %% higher (helps a long run on one small image that starts fitting the noise; "
        "measured worse on others: docs/training.md)",
    )
    t.add_argument(
        "--checkpoint-minutes",
        type=float,
        default=5.0,
        metavar="M",
        help="save the model to OUTPUT every M minutes while training, to --resume after a crash "
        "(default 5; 0: only at the end)",
    )
    t.add_argument("--patch-size", type=int, help=f"patch side in Y and X (default {d.patch_size})")
    t.add_argument(
        "--batch-size",
        type=int,
        help=f"patches per step (default: chosen for the device and memory; {GPU_BATCH[2]} / {GPU_BATCH[3]} in 3D "
        f"on a GPU, {CPU_BATCH[2]} / {CPU_BATCH[3]} on the CPU)",
    )
    t.add_argument(
        "--mask-percent",
        type=float,
        help=f"percent of pixels in J (default: {TINY_MASK_PERCENT:g} for the tiny network in runs of up to "
        f"{SHORT_RUN_SECONDS / 60:g} minutes, else the paper's {PAPER_MASK_PERCENT:g})",
    )
    t.add_argument(
        "--lambda-inv",
        type=_lambda_inv,
        metavar="L",
        help="weight of the invariance term (default auto: 2 x the estimated noise std, at most the paper's 2)",
    )
    t.add_argument("--replacement", choices=REPLACEMENTS, help=f"how J is replaced (default {d.replacement})")
    t.add_argument(
        "--struct-mask",
        metavar="SHAPE",
        help="mask each pixel of J with its neighbours, against noise correlated between pixels: "
        f"{SETTING_HELP.replace('%', '%%')} (default {d.struct_mask}: from the noise's autocorrelation, off for "
        "independent noise)",
    )
    t.add_argument("--method", choices=METHODS, help=f"loss (default {d.method})")
    t.add_argument(
        "--noise-model",
        metavar="FILE",
        help="a noise-model file (JSON, e.g. from noise2same report --save-noise-model or a camera calibration; "
        "docs/quality.md): recorded with the model for the posterior estimate (default: fitted on each image)",
    )
    t.add_argument(
        "--estimate",
        choices=ESTIMATES,
        help="the model's default estimate: n2s (the network's output), posterior (each pixel's context "
        "prediction combined with its own value through the noise model: better on Gaussian-like noise, about "
        "9x the prediction time) or auto (default: the posterior where SURE, an estimate of the error "
        "without a clean image, puts it at least 0.3 dB ahead on a training crop; docs/quality.md)",
    )
    t.add_argument(
        "--preset",
        choices=["auto", *PRESETS],
        help="network: auto (default) chooses for the device and the time budget; "
        "paper = the official 5.6M-parameter U-Net",
    )
    t.add_argument(
        "--learning-rate",
        type=float,
        help=f"Adam learning rate (default: {TINY_LEARNING_RATE:g} for the tiny network in runs of up to "
        f"{SHORT_RUN_SECONDS / 60:g} minutes, else {LEARNING_RATE:g})",
    )
    t.add_argument(
        "--lr-schedule",
        choices=SCHEDULES,
        help=f"learning rate over the run (default {d.lr_schedule}: "
        f"{describe(d.lr_schedule, d.lr_halve_every).replace('%', '%%')}; step: the paper's; docs/training.md)",
    )
    t.add_argument("--val-fraction", type=float, help=f"fraction held out for validation (default {d.val_fraction:g})")
    t.add_argument(
        "--val",
        nargs="+",
        metavar="VAL",
        help="validation images (files, folders or globs, read like the inputs) in place of --val-fraction",
    )
    t.add_argument(
        "--channels",
        dest="channel_mode",
        choices=CHANNEL_MODES,
        help=f"several channels: one network sees all (joint, default {d.channel_mode}) or one network per "
        "channel (independent)",
    )
    t.add_argument(
        "--augment",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="random 90-degree rotations and flips of the patches (default on; --no-augment for data with a "
        "preferred direction)",
    )
    t.add_argument("--device", default="auto", help=DEVICE_HELP)
    t.add_argument(
        "--onnx",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="save the network as ONNX in the model file too, for ONNX Runtime (default: when the onnx extra "
        "is installed)",
    )
    t.add_argument("--seed", type=int)
    t.set_defaults(func=run)


def run(args) -> int:
    from ..engine import Trainer, TrainingData, load_model
    from ..engine.config import DEFAULT_BUDGET, Budget, check_budget
    from ..engine.noise_calibration import load_noise_model
    from ..engine.posterior import recorded_noise_model
    from ..engine.trainer import Checkpoint

    if args.max_seconds is None and args.steps is None:
        args.max_seconds = DEFAULT_BUDGET.seconds
    check_budget(args.steps, args.max_seconds)
    if not (args.checkpoint_minutes >= 0 and args.checkpoint_minutes < float("inf")):
        raise Noise2SameError(f"--checkpoint-minutes must be 0 (off) or more, not {args.checkpoint_minutes}")
    check_writable(Path(args.output))
    noise_model = load_noise_model(args.noise_model) if args.noise_model else None  # a bad file: told first
    start = load_model(args.resume) if args.resume else None
    config = _config(args, start)
    files = read_training_inputs(args.inputs, args.axes)
    val_files = read_training_inputs(args.val, args.axes) if args.val else []
    data = TrainingData.from_arrays(
        [f.data for f in files],
        [f.axes for f in files],
        dims=config.dims,
        patch_size=config.patch_size,
        val_fraction=config.val_fraction,
        names=[str(f.path) for f in files],
        val_arrays=[f.data for f in val_files],
        val_axes=[f.axes for f in val_files],
        val_names=[str(f.path) for f in val_files],
    )
    if start is not None and start.channels != data.channels:
        raise Noise2SameError(
            f"{args.resume} expects {start.channels} channel(s) but the inputs have {data.channels}; "
            "fine-tune on matching images or train a new model (drop --resume)"
        )
    budget = Budget(args.steps, args.max_seconds)
    trainer = Trainer(data, config, axes=files[0].axes, device=args.device, model=start, budget=budget)
    if noise_model is not None:
        noise_model.check_channels(data.channels)
    trainer.noise_model = noise_model or (recorded_noise_model(start) if start is not None else None)
    what = f"fine-tuning {args.resume} ({trainer.steps_before} steps so far)" if start else "training"
    chosen = f" (auto: {'; '.join(trainer.auto['reasons'])})" if trainer.auto else ""
    validation = f", validated on {len(val_files)} image(s)" if val_files else ""
    print(
        f"{what}: a {config.dims}D '{trainer.config.preset}' model on {len(files)} image(s){validation} on "
        f"{trainer.device}, batch {trainer.batch_size} of {'x'.join(map(str, data.patch_size))} patches{chosen}",
        file=sys.stderr,
    )
    print(f"structured mask: {trainer.struct_mask_record['reason']}", file=sys.stderr)
    for warning in trainer.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    every = args.checkpoint_minutes * 60
    checkpoint = Checkpoint(args.output, every) if every > 0 else None
    run_training(trainer, args.steps, args.max_seconds, checkpoint)
    model = trainer.to_model()
    model.set_pixel_size(files[0].pixel_size, files[0].unit)
    if args.onnx is not False:
        _attach_onnx(model, required=args.onnx is True)
    model.save(args.output)
    s = model.summary
    if s.get("estimate"):
        from ..engine.estimate import describe

        print(f"estimate: {describe(s['estimate'])}", file=sys.stderr)
    total = f" ({s['total_steps']} in all)" if start else ""
    print(
        f"saved {args.output}: {s['steps']} steps{total} in {s['train_seconds']:.0f} s, loss {s['final_loss']:.4f} "
        f"(reconstruction {s['final_reconstruction']:.4f}, invariance {s['final_invariance']:.4f}), "
        f"J-invariance D(f) {s.get('invariance_D', float('nan')):.4f}"
    )
    return 0


def _attach_onnx(model, required: bool) -> bool:
    """The network as ONNX in the model file, for ONNX Runtime (--engine onnx): where the onnx
    extra is installed (or required with --onnx)."""
    import time

    from ..engine.onnx_runner import exporter_available

    if not exporter_available() and not required:
        return False
    t0 = time.perf_counter()
    print("exporting the network to ONNX for ONNX Runtime…", file=sys.stderr)
    model.with_onnx()
    print(f"exported in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return True


def _config(args, start):
    """The settings: the resumed model's (or the defaults), with the options given on top."""
    from dataclasses import replace

    from ..engine import TrainConfig

    given = {k: getattr(args, k) for k in CONFIG_OPTIONS if getattr(args, k) is not None}
    if start is not None:
        fixed = (("dims", start.dims), ("preset", start.train_config.preset), ("channel_mode", start.channel_mode))
        for key, have in fixed:
            if key in given and given[key] != have:
                option = {"channel_mode": "channels"}.get(key, key)
                raise Noise2SameError(
                    f"{args.resume} is a {start.dims}D '{start.train_config.preset}' model with "
                    f"{start.channel_mode} channels; fine-tuning keeps its network, so drop --{option} or train a "
                    "new model (without --resume)"
                )
    base = start.train_config if start is not None else TrainConfig()
    return replace(base, **given, batch_size=args.batch_size, seed=args.seed)


def run_training(trainer, steps, seconds, checkpoint=None) -> None:
    from tqdm import tqdm

    by_steps = steps is not None
    with tqdm(
        total=steps if by_steps else round(seconds),
        unit="step" if by_steps else "s",
        dynamic_ncols=True,
        file=sys.stderr,
        disable=None,
    ) as bar:

        def on_event(e):
            if e.finishing:  # the run was shortened: the bar's end moves with it
                bar.total = e.target_step - first if by_steps else round(e.elapsed_s + (e.eta_s or 0))
            bar.n = min(bar.total, e.step - first if by_steps else round(e.elapsed_s))
            post = {"step": e.step, "loss": f"{e.loss:.4f}", "it/s": f"{e.steps_per_s:.1f}"}
            if e.val_loss is not None:
                post["val"] = f"{e.val_loss:.4f}"
            bar.set_postfix(post, refresh=False)
            if e.note:
                bar.write(f"step {e.step}: {e.note}", file=sys.stderr)
            bar.refresh()

        first = trainer.step
        trainer.train(max_steps=steps, max_seconds=seconds, on_event=on_event, checkpoint=checkpoint)
        if trainer.kept_best:
            bar.write(trainer.kept_note(), file=sys.stderr)


def _lambda_inv(text: str):
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'auto', not {text!r}") from None
