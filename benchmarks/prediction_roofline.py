"""Prediction against the CPU's limit: the network's arithmetic per pixel, the peak this CPU
reaches, and the share of it each way of running the network gets.

* arithmetic: floating-point operations per output pixel of each preset's network, counted
  by ``torch.utils.flop_counter`` (a multiply-add counts 2);
* peak: the rate of a 2048 x 2048 float32 matrix product in torch (oneDNN/MKL, the best-tuned
  kernel this CPU has), for 1 and 2 threads;
* ONNX Runtime (what ``noise2same predict`` runs for 2D models) on 512 x 512 and 2048 x 2048,
  whole and as tiles of 512 (with the predictor's 48 px overlap) one by one or in batches of
  4, with 1 and 2 threads and its graph optimisations at "all" (its default) or "basic";
* PyTorch float32, and bfloat16 / float16 autocast, with the PSNR of each against the clean
  image: on FMD (a 2D model of ``--minutes`` of training) and on FMD's focal series (a 3D
  model of ``--volume-minutes``; 3D models run in PyTorch by default).

Each figure is the median of ``--repeats`` warm calls.  Pin it and keep the other core idle::

    taskset -c 0 python benchmarks/prediction_roofline.py --json /tmp/roofline.json
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
from harness import cpu_model
from shared_data import fmd_pair, fmd_volume, microscopy_psnr, synthetic_volume

OVERLAP = 48


def flops_per_pixel() -> dict:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from napari_noise2same.engine.geometry import PRESETS
    from napari_noise2same.engine.unet import UNet, UNetConfig

    out = {}
    for preset in PRESETS:
        for dims, shape in ((2, (1, 1, 256, 256)), (3, (1, 1, 16, 64, 64))):
            net = UNet(UNetConfig.from_preset(preset, dims, 1, False)).eval()
            x = torch.zeros(shape)
            with FlopCounterMode(display=False) as counter, torch.no_grad():
                net(x)
            out[f"{preset} {dims}D"] = counter.get_total_flops() / x.numel()
    return out


def timed(fn, repeats: int) -> float:
    fn()  # warm
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def matmul_peak(threads: int, repeats: int) -> float:
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    return 2 * 2048**3 / timed(lambda: a @ b, repeats) / 1e9


def trained_model(minutes: float, dims: int = 2):
    """A tiny model trained ``minutes`` on FMD (2D) or FMD's focal series (3D), or on synthetic
    data without ../shared/data."""
    from napari_noise2same.engine import TrainConfig, Trainer, TrainingData
    from napari_noise2same.engine.auto import Budget
    from napari_noise2same.examples import noisy_cell

    if dims == 2:
        pair = fmd_pair()
        noisy, clean = pair if pair is not None else noisy_cell()
    else:
        pair = fmd_volume()
        noisy, clean = pair if pair is not None else synthetic_volume()
    data = TrainingData.from_arrays([noisy], "YX" if dims == 2 else "ZYX", dims=dims)
    trainer = Trainer(data, TrainConfig(seed=0, dims=dims), device="cpu", budget=Budget(seconds=minutes * 60))
    trainer.train(max_seconds=minutes * 60)
    model = trainer.to_model(diagnose=False)
    return (model.with_onnx() if dims == 2 else model), noisy, clean


def onnx_cases(model, fpp: float, repeats: int) -> list[dict]:
    import onnxruntime as ort

    rows = []
    rng = np.random.default_rng(0)
    for threads in (1, 2):
        for level in ("all", "basic"):
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.graph_optimization_level = {
                "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
                "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
            }[level]
            session = ort.InferenceSession(model.onnx, options, providers=["CPUExecutionProvider"])
            for side in (512, 2048):
                x = rng.normal(size=(1, 1, side, side)).astype(np.float32)
                seconds = timed(lambda x=x, s=session: s.run(None, {"x": x}), repeats if side == 512 else 1)
                rows.append(_row("onnx", threads, level, f"{side} whole", side * side, seconds, fpp))
            tile = 512 + 2 * OVERLAP  # 2048 in 4 x 4 tiles of 512, each with its context
            for batch in (1, 4):
                x = rng.normal(size=(batch, 1, tile, tile)).astype(np.float32)
                seconds = timed(lambda x=x, s=session: s.run(None, {"x": x}), repeats) * 16 / batch
                rows.append(_row("onnx", threads, level, f"2048 as 16 tiles of 512 (batch {batch})",
                                 16 * tile * tile, seconds, fpp, image_pixels=2048 * 2048))  # fmt: skip
    return rows


def torch_cases(model, noisy, clean, fpp: float, repeats: int) -> list[dict]:
    import torch

    from napari_noise2same.engine.unet import channels_last

    dims = noisy.ndim
    net = model.net.eval().to(memory_format=channels_last(dims))
    x = torch.from_numpy(((noisy - noisy.mean()) / noisy.std()).astype(np.float32))[None, None]
    x = x.contiguous(memory_format=channels_last(dims))
    reference, reference_psnr = None, 0.0
    rows = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for dtype in ("float32", "bfloat16", "float16")[: 3 if dims == 2 else 2]:  # float16: 8-14x slower in 2D
            autocast = torch.autocast("cpu", dtype=getattr(torch, dtype), enabled=dtype != "float32")

            def run(autocast=autocast):
                with torch.no_grad(), autocast:
                    return net(x).float()

            seconds = timed(run, repeats)
            out = run()[0, 0].numpy() * noisy.std() + noisy.mean()
            reference = out if dtype == "float32" else reference
            row = _row("torch", threads, dtype, "x".join(map(str, noisy.shape)) + " whole", noisy.size, seconds, fpp)
            row["psnr"] = round(microscopy_psnr(clean, out), 4)
            if dtype == "float32":
                reference_psnr = row["psnr"]
            row["psnr_vs_float32"] = round(row["psnr"] - reference_psnr, 4)
            row["max_diff_vs_float32_std"] = round(float(np.abs(out - reference).max() / noisy.std()), 5)
            rows.append(row)
    return rows


def _row(engine, threads, variant, case, pixels, seconds, fpp, image_pixels=None) -> dict:
    gflops = fpp * pixels / seconds / 1e9
    return {
        "engine": engine,
        "threads": threads,
        "variant": variant,
        "case": case,
        "seconds": round(seconds, 4),
        "mpx_per_s": round((image_pixels or pixels) / seconds / 1e6, 3),
        "gflop_per_s": round(gflops, 1),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--minutes", type=float, default=1.0, help="training of the model whose quality is compared")
    p.add_argument(
        "--volume-minutes", type=float, default=1.0, help="training of a 3D model for the volume's rows (0: none)"
    )
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    flags = Path("/proc/cpuinfo").read_text().split("flags")[1].split("\n")[0] if Path("/proc/cpuinfo").exists() else ""
    facts = {"cpu": cpu_model(), "amx_bf16": "amx_bf16" in flags, "avx512_bf16": "avx512_bf16" in flags}
    print(facts)
    fpp = flops_per_pixel()
    for name, value in fpp.items():
        print(f"{name}: {value:,.0f} FLOP per pixel")
    peak = {threads: matmul_peak(threads, args.repeats) for threads in (1, 2)}
    print(f"peak (float32 matrix product): {peak[1]:.0f} GFLOP/s on 1 thread, {peak[2]:.0f} on 2")
    model, noisy, clean = trained_model(args.minutes)
    rows = onnx_cases(model, fpp["tiny 2D"], args.repeats)
    rows += torch_cases(model, noisy, clean, fpp["tiny 2D"], args.repeats)
    if args.volume_minutes:
        model, noisy, clean = trained_model(args.volume_minutes, dims=3)
        rows += torch_cases(model, noisy, clean, fpp["tiny 3D"], max(1, args.repeats // 2))
    print("\n| engine | threads | variant | case | s | Mpx/s | GFLOP/s | share of peak | PSNR | - float32 |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        r["share_of_peak"] = round(r["gflop_per_s"] / peak[r["threads"]], 3)
        cells = [r["engine"], r["threads"], r["variant"], r["case"], r["seconds"], r["mpx_per_s"], r["gflop_per_s"]]
        cells += [f"{r['share_of_peak']:.0%}", r.get("psnr", ""), r.get("psnr_vs_float32", "")]
        print("| " + " | ".join(map(str, cells)) + " |")
    if args.json:
        args.json.write_text(json.dumps({"facts": facts, "flop_per_pixel": fpp, "peak_gflops": peak, "rows": rows}))


if __name__ == "__main__":
    main()
