"""PSNR reached after 30, 60 and 180 s of training: Noise2Same (ours) and CAREamics N2V.

Data from ../shared/data (a dataset is skipped, with a message, where it is absent), with the
protocol of quality_vs_careamics.py:
  * fmd   - the FMD confocal FISH pair: train on noisy.png, score against clean.png;
  * set12 - Set12 with Gaussian noise sigma 25 (float, seed 0): train on the 27 crops of
            256 x 256 of the 12 noisy images, score on the 12 full images (mean PSNR, peak 255).

Each method trains once per dataset, up to the largest ``--checkpoints`` time, and is scored at
every checkpoint:
  * ours: ``Trainer.train(max_seconds=...)`` up to each checkpoint, then the clock stops while
    a snapshot (``to_model``) denoises the test images; training continues from where it was;
  * CAREamics 0.3.0 (``--careamics-python``): its default N2V configuration, one run in its own
    virtual environment (careamics_snapshots_runner.py) that saves a checkpoint file when its
    clock passes each time (the clock paused while saving) and predicts with each afterwards.
    One run with snapshots rather than one run per checkpoint: its learning-rate schedule
    (ReduceLROnPlateau) does not depend on the planned length, so both give the same model.
Both clocks start when the library is handed the images (ours: building TrainingData and
Trainer; CAREamics: building CAREamist, which prepares its data), include validation and,
for CAREamics, its own checkpoint files every 10 epochs, and exclude snapshots and scoring.
Each method stops at the first step after a checkpoint, so "train s" may exceed it by a step.

    python benchmarks/quality_per_time.py --careamics-python /opt/careamics-venv/bin/python \\
        --checkpoints 30 60 180 --json /tmp/quality_per_time.json

prints a markdown table and draws PSNR against training seconds (one line per method, one
panel per dataset) to ``--out`` (default docs/images/quality_per_time.png).
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
from common import fmd_pair, psnr, set12, ssim  # noqa: E402
from quality_vs_careamics import crops  # noqa: E402
from training_throughput import machine_facts, print_facts, resolve_device_name, write_json  # noqa: E402

RUNNER = Path(__file__).parent / "careamics_snapshots_runner.py"
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "docs" / "images" / "quality_per_time.png"


def datasets(only: str | None, seed: int) -> dict:
    """name -> (training images, test images, clean test images)."""
    found = {}
    if only in (None, "fmd"):
        pair = fmd_pair()
        if pair is None:
            print("skip fmd: ../shared/data/fmd_confocal_fish not found")
        else:
            noisy, clean = pair
            found["FMD confocal FISH"] = ([noisy], [noisy], [clean])
    if only in (None, "set12"):
        s12 = set12(25.0, seed=seed)
        if s12 is None:
            print("skip set12: ../shared/data/set12 not found")
        else:
            noisy = [n for _, n, _ in s12]
            found["Set12 sigma 25"] = (list(crops(noisy)), noisy, [c for _, _, c in s12])
    return found


def score(clean, outputs) -> tuple[float, float]:
    return (float(np.mean([psnr(c, o) for c, o in zip(clean, outputs)])),
            float(np.mean([ssim(c, o) for c, o in zip(clean, outputs)])))


def run_ours(train, test, clean, checkpoints, preset, seed, lambda_inv, device) -> list[dict]:
    from napari_noise2same.engine import TrainConfig, Trainer, TrainingData

    t0 = time.perf_counter()
    config = TrainConfig(preset=preset, seed=seed, lambda_inv=lambda_inv)
    data = TrainingData.from_arrays(train, "YX", patch_size=config.patch_size, val_fraction=config.val_fraction)
    trainer = Trainer(data, config, axes="YX", device=device)
    setup = time.perf_counter() - t0
    rows = []
    for checkpoint in sorted(checkpoints):
        remaining = checkpoint - (setup + trainer.seconds)
        if remaining > 0:
            trainer.train(max_seconds=remaining)
        t_eval = time.perf_counter()  # the training clock is stopped from here
        model = trainer.to_model(diagnose=False)
        p, s = score(clean, [model.predict(im, "YX") for im in test])
        rows.append({"checkpoint": checkpoint, "seconds": setup + trainer.seconds, "steps": trainer.step, "psnr": p,
                     "ssim": s, "eval_seconds": time.perf_counter() - t_eval, "lambda_inv": trainer.lambda_inv})
        print(f"  ours      {checkpoint:6g} s: {p:.2f} dB ({trainer.step} steps, {setup + trainer.seconds:.1f} s)", flush=True)
    return rows


def run_careamics(python, train, test, clean, checkpoints, seed, workdir: Path) -> tuple[list[dict], dict]:
    train_arr = train[0] if len(train) == 1 else np.stack(train)
    np.save(workdir / "train.npy", train_arr)
    names = []
    for i, im in enumerate(test):
        np.save(workdir / f"test{i}.npy", im)
        names.append(str(workdir / f"test{i}.npy"))
    cmd = [python, str(RUNNER), "--input", str(workdir / "train.npy"), "--checkpoints", *map(str, checkpoints),
           "--predict", *names, "--predict-dir", str(workdir / "pred"), "--seed", str(seed)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"CAREamics runner failed:\n{proc.stderr[-3000:]}")
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    rows = []
    for snap in info["snapshots"]:
        outs = [np.load(workdir / "pred" / f"{snap['checkpoint']:g}s_test{i}.npy") for i in range(len(test))]
        p, s = score(clean, outs)
        rows.append({"checkpoint": snap["checkpoint"], "seconds": snap["seconds"], "steps": snap["steps"],
                     "epochs": snap["epochs"], "psnr": p, "ssim": s, "eval_seconds": snap["predict_seconds"]})
        print(f"  CAREamics {snap['checkpoint']:6g} s: {p:.2f} dB ({snap['steps']} steps, {snap['seconds']:.1f} s)", flush=True)
    info.pop("snapshots")
    return rows, info


def markdown(results: dict, noisy: dict, checkpoints: list[float]) -> str:
    head = "| data | method | " + " | ".join(f"{c:g} s" for c in checkpoints) + " |"
    lines = [head, "| --- | --- | " + " | ".join("---" for _ in checkpoints) + " |"]
    for data, methods in results.items():
        lines.append(f"| {data} | noisy input | " + " | ".join(f"{noisy[data]:.2f}" for _ in checkpoints) + " |")
        for method, rows in methods.items():
            by = {r["checkpoint"]: r for r in rows}
            cells = [f"{by[c]['psnr']:.2f} ({by[c]['steps']} steps)" if c in by else "" for c in checkpoints]
            lines.append(f"| {data} | {method} | " + " | ".join(cells) + " |")
    lines += ["", "| data | method | checkpoint s | train s | steps | PSNR dB | SSIM | scoring s |",
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for data, methods in results.items():
        for method, rows in methods.items():
            for r in rows:
                lines.append(f"| {data} | {method} | {r['checkpoint']:g} | {r['seconds']:.1f} | {r['steps']} | "
                             f"{r['psnr']:.2f} | {r['ssim']:.3f} | {r['eval_seconds']:.1f} |")
    return "\n".join(lines)


def plot(results: dict, noisy: dict, facts: dict, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no plot: matplotlib is not installed (pip install 'napari-noise2same[benchmarks]')")
        return
    fig, axes = plt.subplots(1, len(results), figsize=(5.2 * len(results), 4), squeeze=False)
    for ax, (data, methods) in zip(axes[0], results.items()):
        for method, rows in methods.items():
            ax.plot([r["seconds"] for r in rows], [r["psnr"] for r in rows], marker="o", label=method)
        ax.set_title(f"{data} (noisy input {noisy[data]:.2f} dB)", fontsize=10)
        ax.set_xlabel("training seconds (wall clock)")
        ax.set_ylabel("PSNR dB")
        ax.set_xlim(left=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=9)
    fig.suptitle(f"{facts['usable_cores']}-core {facts['cpu']}, torch {facts['torch']}, device {facts['device']}", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


def main() -> int:
    from napari_noise2same.engine.unet import DEFAULT_PRESET, PRESETS

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoints", type=float, nargs="+", default=[30.0, 60.0, 180.0],
                   help="training seconds at which to score (default 30 60 180)")
    p.add_argument("--careamics-python", help="python of a virtualenv with careamics==0.3.0")
    p.add_argument("--only", choices=("fmd", "set12"))
    p.add_argument("--preset", choices=list(PRESETS), default=DEFAULT_PRESET, help=f"our preset (default {DEFAULT_PRESET})")
    p.add_argument("--lambda-inv", default="2", help="our lambda_inv: a number or 'auto' (default 2, the package default)")
    p.add_argument("--device", default="cpu", help="our device (default cpu)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"the plot (default {DEFAULT_OUT})")
    p.add_argument("--markdown", metavar="PATH", help="also write the markdown table here")
    p.add_argument("--json", metavar="PATH", help="write the figures as JSON")
    args = p.parse_args()
    checkpoints = sorted(args.checkpoints)
    lambda_inv = "auto" if args.lambda_inv == "auto" else float(args.lambda_inv)

    data = datasets(args.only, args.seed)
    if not data:
        print("nothing to do: no dataset found under ../shared/data")
        return 0
    device = resolve_device_name(args.device)
    facts = machine_facts(device)
    print_facts(facts)
    total = len(data) * checkpoints[-1] * (2 if args.careamics_python else 1)
    print(f"\ncheckpoints {', '.join(f'{c:g}' for c in checkpoints)} s; about {total / 60:.0f} min of training in all, "
          "plus start-up and scoring")

    results, noisy, careamics_info = {}, {}, {}
    our_label = f"Noise2Same '{args.preset}', lambda_inv {args.lambda_inv}"
    for name, (train, test, clean) in data.items():
        print(f"\n{name}: {len(train)} training image(s), {len(test)} test image(s)", flush=True)
        noisy[name] = score(clean, test)[0]
        results[name] = {}
        if args.careamics_python:
            with tempfile.TemporaryDirectory() as tmp:
                rows, info = run_careamics(args.careamics_python, train, test, clean, checkpoints, args.seed, Path(tmp))
            results[name]["CAREamics N2V (defaults)"] = rows
            careamics_info[name] = info
        results[name][our_label] = run_ours(train, test, clean, checkpoints, args.preset, args.seed, lambda_inv, device)

    table = markdown(results, noisy, checkpoints)
    print("\nPSNR dB (mean over the test images) after each training time:\n")
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table + "\n")
        print(f"\nwrote {args.markdown}")
    plot(results, noisy, facts, args.out)
    write_json(args.json, {"machine": facts, "settings": {k: str(v) for k, v in vars(args).items()},
                           "noisy_psnr": noisy, "results": results, "careamics": careamics_info})
    return 0


if __name__ == "__main__":
    sys.exit(main())
