"""PSNR along one training run, scored at given step counts or training seconds.

The measuring tool behind the choices of ``preset="auto"`` and the training defaults
(docs/training.md): quality per step of each network, the learning-rate schedules, lambda_inv,
the mask and the replacement on noisy data.  One run per call; every ``TrainConfig`` field can
be set with ``--set key=value``.  The run trains to each ``--steps`` (or ``--seconds``) mark,
stops the clock, denoises the test images with a snapshot and scores them (PSNR, peak 255),
then continues.  One JSON line per mark goes to stdout and to ``--jsonl``.

    python benchmarks/train_curve.py --data fmd --steps 100 200 400 --set preset=fast --seed 1 \\
        --threads 1 --jsonl /tmp/curves.jsonl

Datasets (benchmarks/shared_data.py; skipped with a message when ../shared/data lacks them):
fmd, set12 (sigma 25), fmd-photons4 (Poisson, 17.1 dB input), set12-sigma50, volume (3D,
synthetic).  Each mark is a separate call of ``Trainer.train``, and a learning-rate schedule
spans one call: to measure a schedule that fits the budget, give one mark.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from shared_data import DATASETS, dataset, psnr


def parse_value(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False, "none": None}.get(text.lower(), text)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", choices=DATASETS, required=True)
    marks = p.add_mutually_exclusive_group(required=True)
    marks.add_argument("--steps", type=int, nargs="+", help="score after these many steps")
    marks.add_argument("--seconds", type=float, nargs="+", help="score after these many training seconds")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a TrainConfig field")
    p.add_argument("--seed", type=int, default=0, help="training seed (the noise is always drawn with seed 0)")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    p.add_argument("--tag", default="", help="a label copied into every record")
    p.add_argument("--jsonl", help="append the records to this file")
    args = p.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from napari_noise2same.engine import TrainConfig, Trainer, TrainingData
    from napari_noise2same.engine.auto import Budget

    data = dataset(args.data)
    if data is None:
        print(f"skip {args.data}: its files are not under ../shared/data")
        return 0
    overrides = dict(kv.split("=", 1) for kv in args.set)
    config = TrainConfig(dims=data.dims, seed=args.seed, **{k: parse_value(v) for k, v in overrides.items()})
    t0 = time.perf_counter()
    training = TrainingData.from_arrays(
        data.train, data.axes, dims=data.dims, patch_size=config.patch_size, val_fraction=config.val_fraction
    )
    trainer = Trainer(
        training,
        config,
        axes=data.axes,
        device="cpu",
        budget=Budget(max(args.steps) if args.steps else None, max(args.seconds or [0]) or None),
    )
    setup = time.perf_counter() - t0
    noisy_psnr = float(np.mean([psnr(c, n) for c, n in zip(data.clean, data.test, strict=True)]))
    for mark in sorted(args.steps or args.seconds):
        if args.steps:
            trainer.train(max_steps=mark - trainer.step)
        else:
            trainer.train(max_seconds=mark - setup - trainer.seconds)
        t_eval = time.perf_counter()
        model = trainer.to_model(diagnose=False)
        outputs = [model.predict(im, data.axes) for im in data.test]
        record = {
            "tag": args.tag,
            "data": args.data,
            "seed": args.seed,
            "settings": overrides,
            "mark": mark,
            "steps": trainer.step,
            "train_seconds": round(setup + trainer.seconds, 2),
            "psnr": round(float(np.mean([psnr(c, o) for c, o in zip(data.clean, outputs, strict=True)])), 3),
            "noisy_psnr": round(noisy_psnr, 3),
            "batch_size": trainer.batch_size,
            "lambda_inv": round(trainer.lambda_inv, 4),
            "threads": torch.get_num_threads(),
            "learning_rate": trainer.optimizer.param_groups[0]["lr"],
            "val_loss": trainer.validate() if trainer._val is not None else None,
            "eval_seconds": round(time.perf_counter() - t_eval, 2),
        }
        line = json.dumps(record)
        print(line, flush=True)
        if args.jsonl:
            with open(args.jsonl, "a") as f:
                f.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
