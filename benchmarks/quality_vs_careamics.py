"""Noise2Same (this package) against CAREamics Noise2Void at equal wall-clock training time.

Data from ../shared/data (skipped cleanly where absent):
  * fmd   - the FMD confocal FISH pair: train on noisy.png, score against clean.png;
  * set12 - Set12 with Gaussian noise sigma 25 (seed 0): one model per method trained on
            256x256 crops of the 12 noisy images, scored on the 12 full images.
CAREamics runs first, with its default N2V configuration for ``--careamics-epochs`` epochs,
in its own virtual environment (``--careamics-python``); ours then trains for the same
number of seconds.  Without CAREamics, ours trains for ``--seconds``.

    python benchmarks/quality_vs_careamics.py --careamics-python /path/to/venv/bin/python

Prints one table: PSNR, SSIM, training time, prediction time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from shared_data import fmd_pair, psnr, set12, ssim

RUNNER = Path(__file__).parent / "careamics_n2v_runner.py"


def run_ours(train_images, test_images, seconds, preset, seed, lambda_inv=2.0, axes="YX"):
    from napari_noise2same.engine import DEFAULT_PRESET, TrainConfig, Trainer, TrainingData

    preset = preset or DEFAULT_PRESET
    data = TrainingData.from_arrays(train_images, axes, patch_size=64, val_fraction=0.05)
    trainer = Trainer(data, TrainConfig(preset=preset, seed=seed, lambda_inv=lambda_inv), device="cpu")
    trainer.train(max_seconds=seconds)
    model = trainer.to_model(diagnose=False)
    t0 = time.perf_counter()
    outputs = [model.predict(im, "YX") for im in test_images]
    return outputs, {
        "preset": preset,
        "train_seconds": trainer.seconds,
        "predict_seconds": time.perf_counter() - t0,
        "steps": trainer.step,
        "lambda_inv": trainer.lambda_inv,
    }


def run_careamics(python, train, test_images, epochs, workdir):
    workdir = Path(workdir)
    np.save(workdir / "train.npy", train)
    predict_in = []
    for i, im in enumerate(test_images):
        np.save(workdir / f"test{i}.npy", im)
        predict_in.append(str(workdir / f"test{i}.npy"))
    cmd = [
        python,
        str(RUNNER),
        "--input",
        str(workdir / "train.npy"),
        "--output",
        str(workdir / "out.npy"),
        "--epochs",
        str(epochs),
        "--work-dir",
        str(workdir / "careamics"),
    ]
    if len(test_images) > 1 or train.ndim == 3:
        cmd += ["--predict", *predict_in, "--predict-dir", str(workdir / "pred")]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"CAREamics runner failed:\n{proc.stderr[-2000:]}")
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    if "--predict" in cmd:
        outs = [np.load(workdir / "pred" / f"test{i}_n2v.npy") for i in range(len(test_images))]
    else:
        outs = [np.load(workdir / "out.npy")]
    return outs, info


def crops(images, size=256):
    out = []
    for im in images:
        for y in range(0, im.shape[0] - size + 1, size):
            for x in range(0, im.shape[1] - size + 1, size):
                out.append(im[y : y + size, x : x + size])
    return np.stack(out)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--careamics-python", help="python of a virtualenv with careamics==0.3.0")
    p.add_argument("--careamics-epochs", type=int, default=40, help="N2V epochs on FMD (default 40 = 160 steps)")
    p.add_argument(
        "--set12-epochs", type=int, default=6, help="N2V epochs on the Set12 crops (default 6 = about 160 steps)"
    )
    p.add_argument("--seconds", type=float, default=87.0, help="our training time when CAREamics is not run")
    p.add_argument("--preset", default=None, help="our network preset (default: the package default)")
    p.add_argument("--only", choices=("fmd", "set12"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--lambda-inv",
        nargs="+",
        default=["2", "auto"],
        help="our lambda_inv settings, one run each (default: 2 and auto)",
    )
    args = p.parse_args()

    datasets = {}
    if args.only in (None, "fmd"):
        pair = fmd_pair()
        if pair is None:
            print("skip fmd: ../shared/data/fmd_confocal_fish not found")
        else:
            noisy, clean = pair
            datasets["FMD confocal FISH"] = ([noisy], [noisy], [clean])
    if args.only in (None, "set12"):
        s12 = set12(25.0, seed=args.seed)
        if s12 is None:
            print("skip set12: ../shared/data/set12 not found")
        else:
            noisy = [n for _, n, _ in s12]
            datasets["Set12 sigma 25"] = (list(crops(noisy)), noisy, [c for _, _, c in s12])

    rows = []
    for name, (train, test, clean) in datasets.items():
        rows.append(
            (
                name,
                "noisy input",
                np.mean([psnr(c, n) for c, n in zip(clean, test, strict=True)]),
                np.mean([ssim(c, n) for c, n in zip(clean, test, strict=True)]),
                None,
                None,
                None,
            )
        )
        seconds = args.seconds
        if args.careamics_python:
            with tempfile.TemporaryDirectory() as tmp:
                train_arr = train[0] if len(train) == 1 else np.stack(train)
                epochs = args.set12_epochs if name.startswith("Set12") else args.careamics_epochs
                outs, info = run_careamics(args.careamics_python, train_arr, test, epochs, tmp)
            seconds = info["train_seconds"]
            rows.append(
                (
                    name,
                    f"CAREamics N2V ({epochs} epochs)",
                    np.mean([psnr(c, o) for c, o in zip(clean, outs, strict=True)]),
                    np.mean([ssim(c, o) for c, o in zip(clean, outs, strict=True)]),
                    info["train_seconds"],
                    info.get("steps"),
                    info["predict_seconds"],
                )
            )
        for lam in args.lambda_inv:
            outs, info = run_ours(train, test, seconds, args.preset, args.seed, lam if lam == "auto" else float(lam))
            label = f"Noise2Same '{info['preset']}', lambda {lam}" + (
                f" = {info['lambda_inv']:.2f}" if lam == "auto" else ""
            )
            rows.append(
                (
                    name,
                    label,
                    np.mean([psnr(c, o) for c, o in zip(clean, outs, strict=True)]),
                    np.mean([ssim(c, o) for c, o in zip(clean, outs, strict=True)]),
                    info["train_seconds"],
                    info["steps"],
                    info["predict_seconds"],
                )
            )

    print(f"\n{'data':<20} {'method':<40} {'PSNR dB':>8} {'SSIM':>6} {'train s':>8} {'steps':>6} {'predict s':>9}")
    for name, method, p_, s_, t, steps, pt in rows:
        fmt = lambda v, f: "" if v is None else format(v, f)  # noqa: E731
        print(
            f"{name:<20} {method:<40} {p_:8.2f} {s_:6.3f} {fmt(t, '8.1f'):>8} {fmt(steps, 'd'):>6} {fmt(pt, '9.2f'):>9}"
        )


if __name__ == "__main__":
    main()
