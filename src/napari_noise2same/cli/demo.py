"""``noise2same demo``: train and denoise a built-in noisy example, printing PSNR."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from .common import output_folder
from .train import run_training


def add_parser(sub) -> None:
    from ..engine.geometry import PRESETS

    d = sub.add_parser(
        "demo",
        help="train and denoise a built-in noisy example, printing PSNR",
        description="Denoise scikit-image's cell.png with added Poisson-Gaussian noise and print the PSNR "
        "before and after.",
    )
    d.add_argument("--seconds", type=float, default=60, help="training time (default 60)")
    d.add_argument("-o", "--output", help="folder for noisy.tif, denoised.tif and model.n2s")
    d.add_argument(
        "--preset",
        choices=["auto", *PRESETS],
        default="auto",
        help="network (default auto: chosen for this machine and the time)",
    )
    d.add_argument("--device", default="auto")
    d.add_argument("--seed", type=int, default=0)
    d.set_defaults(func=run)


def run(args) -> int:
    import numpy as np

    from ..engine import TrainConfig, Trainer, TrainingData
    from ..engine.auto import Budget
    from ..examples import noisy_cell, psnr

    noisy, clean = noisy_cell(seed=args.seed)
    print(
        f"demo: scikit-image cell.png {clean.shape} with Poisson-Gaussian noise; training {args.seconds:.0f} s",
        file=sys.stderr,
    )
    config = TrainConfig(preset=args.preset, seed=args.seed)
    data = TrainingData.from_arrays([noisy], "YX", patch_size=config.patch_size, val_fraction=config.val_fraction)
    trainer = Trainer(data, config, axes="YX", device=args.device, budget=Budget(seconds=args.seconds))
    run_training(trainer, None, args.seconds)
    model = trainer.to_model()
    t0 = time.perf_counter()
    denoised = model.predict(noisy, "YX")
    predict_s = time.perf_counter() - t0
    print(f"PSNR noisy    {psnr(clean, noisy, 1.0):6.2f} dB")
    print(
        f"PSNR denoised {psnr(clean, denoised, 1.0):6.2f} dB  ({trainer.step} steps of the "
        f"'{trainer.config.preset}' network, {trainer.seconds:.0f} s training on {trainer.device}, "
        f"prediction {predict_s:.2f} s)"
    )
    if args.output:
        from ..io import write_tiff

        out = output_folder(Path(args.output))
        write_tiff(out / "noisy.tif", noisy, "YX")
        write_tiff(out / "denoised.tif", np.asarray(denoised), "YX")
        model.save(out / "model.n2s")
        print(f"wrote {out}/noisy.tif, denoised.tif and model.n2s", file=sys.stderr)
    return 0
