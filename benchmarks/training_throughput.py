"""Training throughput of every network preset in 2D and 3D, each in a fresh process.

For each preset (``PRESETS`` of engine/unet.py) and dimensionality, a fresh Python process
trains on a synthetic image (2D: 512 x 512; 3D: 32 x 128 x 128; the content does not change
the speed) with the default patch and batch of ``TrainConfig`` for the device (CPU: 16 of 64 x 64
in 2D, 2 of 16 x 64 x 64 in 3D; GPU: 64 / 4), runs ``--warmup-steps`` steps, then trains for
``--seconds`` and reports steps/s, patches/s, pixels/s (patch pixels through the two forward
passes and one backward of a step), the median step time, the peak resident memory of the
process (VmHWM / ru_maxrss: one process per configuration, so peaks do not mix) and, on CUDA,
``torch.cuda.max_memory_allocated`` over the measured steps.  Validation is switched off
(``val_every`` huge) so that only training steps are timed.

    python benchmarks/training_throughput.py --seconds 20 --json /tmp/training_throughput.json

Thread sweep on the CPU (``torch.set_num_threads`` in each child), also against the OpenMP
wait policy (``OMP_WAIT_POLICY`` of each child; with other processes on the cores, spinning
OpenMP threads can make 2 threads many times slower than 1), in 3 interleaved rounds::

    python benchmarks/training_throughput.py --presets tiny fast --dims 2 --threads 1 2 \
        --wait-policies default passive --rounds 3

Joint against separate forward pass (``TrainConfig.forward``), counterbalanced A/B/B/A/...
rounds of fresh processes, and with ``--quality-seconds`` the PSNR each reaches on the FMD
confocal image (trained on its noisy frame, scored against the 50-frame mean, as in
quality_vs_careamics.py)::

    python benchmarks/training_throughput.py --compare-forward --rounds 3 --seconds 20 \\
        --quality-seconds 60 --quality-repeats 2

The machine (CPU model, cores, torch version and threads, device, load average) is printed
first: timings taken while other processes use the cores are not representative.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from harness import (
    child_env,
    fmt,
    machine_facts,
    peak_rss_mib,
    print_facts,
    resolve_device_name,
    rss_mib,
    run_child,
    write_json,
)

SYNTHETIC_2D = (512, 512)
SYNTHETIC_3D = (32, 128, 128)


# -- the child: one configuration in a fresh process -------------------------------------------
def synthetic_image(dims: int, seed: int = 0):
    from napari_noise2same.examples import poisson_gaussian, synthetic_cells

    shape = SYNTHETIC_2D if dims == 2 else SYNTHETIC_3D
    return poisson_gaussian(synthetic_cells(shape, seed=seed), photons=20, seed=seed)


def child(spec: dict) -> dict:
    import numpy as np
    import torch

    if spec.get("threads"):
        torch.set_num_threads(int(spec["threads"]))
    from napari_noise2same.engine import TrainConfig, Trainer, TrainingData

    dims, quality = spec["dims"], spec.get("quality_seconds")
    clean = None
    if quality:
        from shared_data import fmd_pair, psnr

        noisy, clean = fmd_pair()
        images, axes = [noisy], "YX"
    else:
        images, axes = [synthetic_image(dims)], "YX" if dims == 2 else "ZYX"
    config = TrainConfig(
        dims=dims,
        preset=spec["preset"],
        seed=spec.get("seed", 0),
        forward=spec["forward"],
        amp=spec.get("amp", True),
        **({} if quality else {"val_every": 10**9}),
    )
    data = TrainingData.from_arrays(
        images, axes, dims=dims, patch_size=config.patch_size, val_fraction=config.val_fraction
    )
    trainer = Trainer(data, config, axes=axes, device=spec["device"])
    cuda = trainer.device.type == "cuda"
    out = {
        **spec,
        "batch": trainer.batch_size,
        "patch": list(data.patch_size),
        "torch_threads": torch.get_num_threads(),
        "rss_ready_mib": round(rss_mib(), 1),
    }

    if quality:  # train for the budget as a user would (validation included), then score
        trainer.train(max_seconds=quality)
        model = trainer.to_model(diagnose=False)
        t0 = time.perf_counter()
        denoised = model.predict(images[0], "YX")
        out.update(
            steps=trainer.step,
            train_seconds=round(trainer.seconds, 2),
            steps_per_s=trainer.step / trainer.seconds,
            psnr=psnr(clean, denoised),
            predict_seconds=round(time.perf_counter() - t0, 3),
            peak_rss_mib=round(peak_rss_mib(), 1),
        )
        return out

    trainer.train(max_steps=spec["warmup_steps"])
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats(trainer.device)
    durations: list[float] = []
    clock = {"last": 0.0}

    def on_event(_):
        now = time.perf_counter()
        durations.append(now - clock["last"])
        clock["last"] = now

    start_seconds = trainer.seconds
    clock["last"] = time.perf_counter()
    trainer.train(max_seconds=spec["seconds"], on_event=on_event)
    if len(durations) < spec["min_steps"]:  # slow configurations: a few steps at least
        clock["last"] = time.perf_counter()
        trainer.train(max_steps=spec["min_steps"] - len(durations), on_event=on_event)
    seconds = trainer.seconds - start_seconds
    steps = len(durations)
    pixels = int(np.prod(data.patch_size)) * trainer.batch_size
    out.update(
        steps=steps,
        seconds=round(seconds, 3),
        steps_per_s=steps / seconds,
        patches_per_s=steps * trainer.batch_size / seconds,
        pixels_per_s=steps * pixels / seconds,
        median_step_ms=1000 * statistics.median(durations),
        peak_rss_mib=round(peak_rss_mib(), 1),
        peak_cuda_mib=round(torch.cuda.max_memory_allocated(trainer.device) / 2**20, 1) if cuda else None,
        final_loss=trainer.history[-1]["loss"],
    )
    return out


# -- the parent --------------------------------------------------------------------------------
def throughput_table(rows: list[dict]) -> None:
    print(
        f"\n{'preset':<7} {'dims':>4} {'thr':>3} {'wait':<7} {'amp':<4} {'batch x patch':>16} {'steps':>5} "
        f"{'steps/s':>8} "
        f"{'ms/step':>8} {'patches/s':>9} {'Mpx/s':>7} {'peak RSS MiB':>12} {'peak CUDA MiB':>13}"
    )
    for r in rows:
        wait = r.get("wait_policy") or "default"
        if "error" in r:
            print(
                f"{r['preset']:<7} {r['dims']:>4} {fmt(r.get('threads'), 'd', '-'):>3} {wait:<7} {r['forward']:<8} "
                f"failed: {r['error']}"
            )
            continue
        shape = f"{r['batch']} x {'x'.join(map(str, r['patch']))}"
        amp = "on" if r.get("amp", True) else "off"
        print(
            f"{r['preset']:<7} {r['dims']:>4} {r['torch_threads']:>3} {wait:<7} {amp:<4} {shape:>16} {r['steps']:>5} "
            f"{r['steps_per_s']:8.2f} {r['median_step_ms']:8.0f} {r['patches_per_s']:9.1f} "
            f"{r['pixels_per_s'] / 1e6:7.3f} "
            f"{r['peak_rss_mib']:12.0f} {fmt(r['peak_cuda_mib'], '13.0f'):>13}"
        )


def median_of(rows: list[dict], key: str) -> float | None:
    values = [r[key] for r in rows if "error" not in r and r.get(key) is not None]
    return statistics.median(values) if values else None


def compare_forward(args, base: dict, script: str) -> dict:
    """Joint vs separate forward pass: counterbalanced rounds of fresh processes."""
    result = {"throughput": [], "quality": []}
    modes = ("joint", "separate")
    for preset in args.presets:
        for dims in args.dims:
            for rnd in range(args.rounds):
                for mode in modes if rnd % 2 == 0 else modes[::-1]:
                    spec = {**base, "preset": preset, "dims": dims, "forward": mode}
                    r = run_child(script, spec, env=child_env(spec["wait_policy"]))
                    r.setdefault("preset", preset), r.setdefault("dims", dims), r.setdefault("forward", mode)
                    r["round"] = rnd
                    result["throughput"].append(r)
                    print(
                        f"  round {rnd + 1} {preset} {dims}D {mode:<8} "
                        + (f"{r['steps_per_s']:.2f} steps/s" if "error" not in r else f"failed: {r['error']}"),
                        flush=True,
                    )
    throughput_table(result["throughput"])
    print(
        f"\n{'preset':<7} {'dims':>4} {'joint steps/s':>14} {'separate steps/s':>17} {'joint / separate':>17}"
        f"   (medians over {args.rounds} round(s))"
    )
    for preset in args.presets:
        for dims in args.dims:
            sel = {
                m: [
                    r for r in result["throughput"] if r["preset"] == preset and r["dims"] == dims and r["forward"] == m
                ]
                for m in modes
            }
            j, s = median_of(sel["joint"], "steps_per_s"), median_of(sel["separate"], "steps_per_s")
            print(
                f"{preset:<7} {dims:>4} {fmt(j, '14.2f'):>14} {fmt(s, '17.2f'):>17} "
                f"{fmt(j / s if j and s else None, '17.3f'):>17}"
            )

    if args.quality_seconds:
        from shared_data import fmd_pair

        if fmd_pair() is None:
            print("\nskip quality: ../shared/data/fmd_confocal_fish not found")
            return result
        print(
            f"\nquality: FMD confocal FISH, {args.quality_seconds:g} s of training per run, 2D, "
            f"{args.quality_repeats} seed(s) per mode, interleaved"
        )
        for preset in args.presets:
            for seed in range(args.quality_repeats):
                for mode in modes if seed % 2 == 0 else modes[::-1]:
                    spec = {
                        **base,
                        "preset": preset,
                        "dims": 2,
                        "forward": mode,
                        "seed": seed,
                        "quality_seconds": args.quality_seconds,
                    }
                    r = run_child(script, spec, env=child_env(spec["wait_policy"]))
                    r.setdefault("preset", preset), r.setdefault("forward", mode), r.setdefault("seed", seed)
                    result["quality"].append(r)
                    print(
                        f"  {preset} seed {seed} {mode:<8} "
                        + (
                            f"{r['psnr']:.2f} dB after {r['steps']} steps in {r['train_seconds']:.1f} s"
                            if "error" not in r
                            else f"failed: {r['error']}"
                        ),
                        flush=True,
                    )
        print(
            f"\n{'preset':<7} {'forward':<8} {'seeds':>5} {'mean PSNR dB':>12} {'min':>6} {'max':>6} {'mean steps':>10}"
        )
        for preset in args.presets:
            for mode in modes:
                ok = [
                    r for r in result["quality"] if r["preset"] == preset and r["forward"] == mode and "error" not in r
                ]
                if ok:
                    ps = [r["psnr"] for r in ok]
                    print(
                        f"{preset:<7} {mode:<8} {len(ok):>5} {statistics.mean(ps):12.2f} {min(ps):6.2f} {max(ps):6.2f} "
                        f"{statistics.mean(r['steps'] for r in ok):10.0f}"
                    )
    return result


def main() -> int:
    from napari_noise2same.engine.unet import DEFAULT_PRESET, PRESETS

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    p.add_argument("--seconds", type=float, default=20.0, help="measured training time per configuration (default 20)")
    p.add_argument("--warmup-steps", type=int, default=3, help="steps before the clock starts (default 3)")
    p.add_argument("--min-steps", type=int, default=3, help="measure at least this many steps (default 3)")
    p.add_argument(
        "--presets",
        nargs="+",
        choices=list(PRESETS),
        default=None,
        help=f"presets (default: all; with --compare-forward: {DEFAULT_PRESET})",
    )
    p.add_argument(
        "--dims",
        nargs="+",
        type=int,
        choices=(2, 3),
        default=None,
        help="2 and/or 3 (default: both; with --compare-forward: 2)",
    )
    p.add_argument(
        "--forward",
        choices=("separate", "joint"),
        default=None,
        help="forward pass for the throughput table (default: TrainConfig's)",
    )
    p.add_argument(
        "--threads",
        nargs="+",
        type=int,
        default=None,
        help="torch.set_num_threads values to sweep, e.g. 1 2 (default: torch's own choice)",
    )
    p.add_argument(
        "--wait-policies",
        nargs="+",
        choices=("default", "passive", "active"),
        default=["default"],
        help="OMP_WAIT_POLICY of the children to sweep (default: inherited); passive threads sleep at "
        "once instead of spinning, which matters when other processes share the cores",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="repeats of every configuration, interleaved (default 1; with --compare-forward 3)",
    )
    p.add_argument(
        "--compare-forward", action="store_true", help="joint vs separate forward pass instead of the preset table"
    )
    p.add_argument(
        "--quality-seconds",
        type=float,
        default=None,
        help="with --compare-forward: also train on FMD for this long per mode and report PSNR",
    )
    p.add_argument("--quality-repeats", type=int, default=1, help="seeds per mode for --quality-seconds (default 1)")
    p.add_argument(
        "--amp",
        nargs="+",
        choices=("on", "off"),
        default=["on"],
        help="mixed precision (CUDA only; default on): 'on off' measures both",
    )
    p.add_argument("--json", metavar="PATH", help="write the figures as JSON")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()

    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0

    device = resolve_device_name(args.device)
    facts = machine_facts(device)
    print_facts(facts)
    from napari_noise2same.engine import TrainConfig

    forward = args.forward or TrainConfig().forward
    base = {
        "device": device,
        "seconds": args.seconds,
        "warmup_steps": args.warmup_steps,
        "min_steps": args.min_steps,
        "forward": forward,
        "seed": 0,
    }
    script = str(Path(__file__).resolve())
    payload = {"machine": facts, "settings": {k: v for k, v in vars(args).items() if k != "child"}}

    if args.compare_forward:
        args.presets = args.presets or [DEFAULT_PRESET]
        args.dims = args.dims or [2]
        args.rounds = args.rounds or 3
        base.update(threads=args.threads[0] if args.threads else None, wait_policy=args.wait_policies[0])
        print(
            f"\njoint vs separate forward pass: {args.rounds} round(s) of {args.seconds:g} s per mode "
            f"(after {args.warmup_steps} warm-up steps), each in a fresh process; order A B, B A, A B, ..."
        )
        payload["compare_forward"] = compare_forward(args, base, script)
        write_json(args.json, payload)
        return 0

    presets = args.presets or list(PRESETS)
    dims_list = args.dims or [2, 3]
    threads = args.threads or [None]
    sweep = [(t, w, a) for t in threads for w in args.wait_policies for a in args.amp]
    rounds = args.rounds or 1
    n = len(presets) * len(dims_list) * len(sweep) * rounds
    print(
        f"\n{n} configuration run(s) of {args.seconds:g} s (after {args.warmup_steps} warm-up steps), "
        f"forward '{forward}', synthetic data 2D {SYNTHETIC_2D}, 3D {SYNTHETIC_3D}, each in a fresh process"
    )
    rows = []
    for rnd in range(rounds):
        for preset in presets:
            for dims in dims_list:
                for t, w, a in sweep if rnd % 2 == 0 else sweep[::-1]:
                    spec = {**base, "preset": preset, "dims": dims, "threads": t, "wait_policy": w, "amp": a == "on"}
                    r = run_child(script, spec, env=child_env(w))
                    r.setdefault("preset", preset), r.setdefault("dims", dims), r.setdefault("forward", forward)
                    r.setdefault("threads", t), r.setdefault("wait_policy", w)
                    r["round"] = rnd
                    rows.append(r)
                    print(
                        f"  {preset} {dims}D threads {t or 'default'}, OMP_WAIT_POLICY {w}, amp {a}: "
                        + (f"{r['steps_per_s']:.2f} steps/s" if "error" not in r else f"failed: {r['error']}"),
                        flush=True,
                    )
    throughput_table(rows)
    if rounds > 1 or len(sweep) > 1:
        print(f"\nmedians over {rounds} round(s):")
        print(f"{'preset':<7} {'dims':>4} {'threads':>7} {'wait':<7} {'steps/s':>8} {'Mpx/s':>7}")
        for preset in presets:
            for dims in dims_list:
                for t, w, a in sweep:
                    sel = [
                        r
                        for r in rows
                        if r["preset"] == preset
                        and r["dims"] == dims
                        and r.get("threads") == t
                        and r.get("wait_policy") == w
                        and r.get("amp", True) == (a == "on")
                    ]
                    s, px = median_of(sel, "steps_per_s"), median_of(sel, "pixels_per_s")
                    print(
                        f"{preset:<7} {dims:>4} {str(t or 'default'):>7} {w:<7} {fmt(s, '8.2f'):>8} "
                        f"{fmt(px / 1e6 if px else None, '7.3f'):>7}"
                    )
    payload["throughput"] = rows
    write_json(args.json, payload)
    return 0


if __name__ == "__main__":
    sys.exit(main())
