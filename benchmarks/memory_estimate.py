"""Does the memory estimate behind auto's batch and the "would not fit" refusal hold?

Each case runs in a fresh process: the trainer is built on synthetic data and takes one step
(warm-up), then the resident memory is read, two more steps are taken and the peak (VmHWM)
read again.  The step's measured peak above the warm state is compared with
``engine.memory.step_bytes``' activation term, in units of one forward pass's activations (the
estimate takes ``memory.PASSES`` = 2).  CPU only here; on a GPU the same script takes
``--device cuda`` and reads torch's peak allocated memory instead.

    python benchmarks/memory_estimate.py --json /tmp/memory.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from harness import machine_facts, peak_rss_mib, print_facts, rss_mib, run_child, write_json

CASES = [
    {"preset": "tiny", "dims": 2, "batch": 64, "patch": 128},
    {"preset": "fast", "dims": 2, "batch": 32, "patch": 128},
    {"preset": "paper", "dims": 2, "batch": 16, "patch": 64},
    {"preset": "tiny", "dims": 3, "batch": 8, "patch": 64},
]


def child(spec: dict) -> dict:
    import math

    import numpy as np
    import torch

    from napari_noise2same.engine import TrainConfig, Trainer, TrainingData
    from napari_noise2same.engine.geometry import PRESETS
    from napari_noise2same.engine.memory import activations_per_pixel

    torch.set_num_threads(1)
    dims, p = spec["dims"], spec["patch"]
    shape = (24, 2 * p, 2 * p) if dims == 3 else (4 * p, 4 * p)
    image = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    data = TrainingData.from_arrays([image], "ZYX" if dims == 3 else "YX")
    config = TrainConfig(preset=spec["preset"], dims=dims, batch_size=spec["batch"], patch_size=p, seed=0)
    trainer = Trainer(data, config, device=spec["device"])
    trainer.train(max_steps=1)
    device = torch.device(spec["device"])
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device) / 2**20
    else:
        base = rss_mib()
    trainer.train(max_steps=2)
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else peak_rss_mib()
    patch = (min(16, shape[0]), p, p) if dims == 3 else (p, p)
    one_pass = activations_per_pixel(dims, PRESETS[spec["preset"]], 1) * spec["batch"] * math.prod(patch) * 4 / 2**20
    return {**spec, "patch_shape": list(patch), "step_mib": round(peak - base, 1), "one_pass_mib": round(one_pass, 1)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu")
    p.add_argument("--json")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    facts = machine_facts(args.device)
    print_facts(facts)
    print("\n| network | dims | batch x patch | one pass's activations MiB | measured step MiB | ratio |")
    print("| --- | --- | --- | --- | --- | --- |")
    rows = []
    for case in CASES:
        r = run_child(__file__, {**case, "device": args.device}, timeout=1800)
        rows.append(r)
        if "error" in r:
            print(f"| {case['preset']} | {case['dims']}D | failed: {r['error']} | | | |")
            continue
        ratio = r["step_mib"] / r["one_pass_mib"]
        r["ratio"] = round(ratio, 2)
        size = "x".join(map(str, r["patch_shape"]))
        print(
            f"| {r['preset']} | {r['dims']}D | {r['batch']} x {size} | {r['one_pass_mib']:.0f} | "
            f"{r['step_mib']:.0f} | {ratio:.2f} |",
            flush=True,
        )
    write_json(args.json, {"machine": facts, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
