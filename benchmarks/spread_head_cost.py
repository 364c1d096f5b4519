"""What the spread head (engine/spread.py) costs a training step: steps with and without it,
interleaved (A B A B ...) in one process so that the machine's load falls on both alike.

    python benchmarks/spread_head_cost.py --presets tiny fast --dims 2 3 --rounds 6 --steps 10

For each preset and dimensionality: the median step time with the head (the default) and
without (the trainer's step with ``spread`` set aside), and their ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from harness import machine_facts, print_facts


def step_times(trainer, steps: int, spread) -> list[float]:
    trainer.spread = spread
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        trainer._train_step()
        times.append(time.perf_counter() - t0)
    return times


def measure(preset: str, dims: int, rounds: int, steps: int) -> dict:
    from napari_noise2same.engine import TrainConfig, Trainer, TrainingData

    rng = np.random.default_rng(0)
    image = rng.normal(100, 10, (32, 128, 128) if dims == 3 else (512, 512)).astype(np.float32)
    axes = "ZYX" if dims == 3 else "YX"
    config = TrainConfig(dims=dims, preset=preset, seed=0, val_every=10**9)
    data = TrainingData.from_arrays([image], axes, dims=dims, patch_size=config.patch_size)
    trainer = Trainer(data, config, axes=axes, device="cpu")
    head = trainer.spread
    trainer.net.train()
    head.train()
    step_times(trainer, 3, head)  # warm-up
    with_head, without = [], []
    for _ in range(rounds):
        with_head += step_times(trainer, steps, head)
        without += step_times(trainer, steps, None)
    trainer.spread = head
    a, b = statistics.median(with_head), statistics.median(without)
    return {
        "preset": preset,
        "dims": dims,
        "batch": trainer.batch_size,
        "patch": list(data.patch_size),
        "median_step_s_with_head": round(a, 4),
        "median_step_s_without": round(b, 4),
        "ratio": round(a / b, 3),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--presets", nargs="+", default=["tiny", "fast"])
    p.add_argument("--dims", type=int, nargs="+", default=[2, 3])
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--steps", type=int, default=10, help="steps per round and mode")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--json")
    args = p.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    facts = machine_facts("cpu")
    print_facts(facts)
    rows = []
    for dims in args.dims:
        for preset in args.presets:
            row = measure(preset, dims, args.rounds, args.steps)
            rows.append(row)
            print(
                f"{dims}D {preset:5s} batch {row['batch']} of {'x'.join(map(str, row['patch']))}: "
                f"{row['median_step_s_with_head'] * 1000:.1f} ms with the head, "
                f"{row['median_step_s_without'] * 1000:.1f} ms without ({(row['ratio'] - 1) * 100:+.1f} %)",
                flush=True,
            )
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": facts, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
