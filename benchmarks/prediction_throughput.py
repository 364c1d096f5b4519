"""Prediction throughput (megapixels/s of ``model.predict``) for images and a volume.

Cases, each in a fresh process (so its peak resident memory is its own):
  * a 512 x 512 and a 2048 x 2048 image with a 2D model;
  * a 64 x 1024 x 1024 volume with a 3D model (after a small 16 x 256 x 256 probe that
    calibrates the time estimate), and with the 2D model plane by plane;
each whole (one tile covering the image) and in tiles (``--tile-sizes``, default 512 and 256
px, for the images; ``--plane-tiles``, default whole planes, for the volume plane by plane;
``--volume-tiles``, default the predictor's own choice (64 x 256 x 256 tiles), for the 3D model),
with and without test-time augmentation (TTA: the 8 rotations and flips).  "auto" is what
``predict`` picks by itself (``tile_size=None``): whole images while the activations fit in
about 1.5 GB.  The table gives the tiling as "number x tile shape"; overlapping tiles make the
network process more pixels than the image has.

The models are the ``--preset`` (default: the package default) trained for ``--train-steps``
steps on synthetic data: throughput does not depend on what the network learned.  Inputs are
synthetic too (a 256 x 256 noisy pattern tiled to size).  Each case predicts a 64 x 64 image
first (torch start-up), then is timed ``--repeats`` times (cases estimated above 60 s once);
"first" is the first timed call, "warm" the median of the others.  Before each case the
expected time is printed, from the speed (processed tile pixels per second) of the previous
case of the same model; ``--max-estimate`` (default 900 s) skips cases expected to take longer
per call.

    python benchmarks/prediction_throughput.py --json /tmp/prediction_throughput.json

Quicker, without the volume or the slowest cases::

    python benchmarks/prediction_throughput.py --skip-volume
    python benchmarks/prediction_throughput.py --volume-depth 16 --max-estimate 300

Everything, however long (on 2 CPU cores the volume with the 3D model and TTA takes hours)::

    python benchmarks/prediction_throughput.py --max-estimate inf
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
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

SLOW_CASE_SECONDS = 60.0  # cases expected to take longer are timed once


# -- inputs ------------------------------------------------------------------------------------
def synthetic_input(shape: tuple[int, ...], seed: int = 0):
    """A noisy fluorescence-like pattern of ``shape`` (YX or ZYX), tiled from a small one."""
    import numpy as np

    from napari_noise2same.examples import poisson_gaussian, synthetic_cells

    base_shape = (256, 256) if len(shape) == 2 else (min(16, shape[0]), 256, 256)
    base = poisson_gaussian(synthetic_cells(base_shape, seed=seed), photons=20, seed=seed)
    reps = [math.ceil(s / b) for s, b in zip(shape, base_shape, strict=False)]
    return np.ascontiguousarray(np.tile(base, reps)[tuple(slice(0, s) for s in shape)], dtype=np.float32)


def train_model(dims: int, preset: str, steps: int, device: str, path: Path) -> None:
    from napari_noise2same.engine import TrainConfig, Trainer, TrainingData

    image = synthetic_input((256, 256) if dims == 2 else (16, 128, 128))
    axes = "YX" if dims == 2 else "ZYX"
    config = TrainConfig(dims=dims, preset=preset, seed=0)
    data = TrainingData.from_arrays([image], axes, dims=dims, patch_size=config.patch_size, val_fraction=0.0)
    trainer = Trainer(data, config, axes=axes, device=device)
    trainer.train(max_steps=steps)
    model = trainer.to_model(diagnose=False)
    try:
        model.with_onnx()  # for the onnx engine's cases
    except Exception as e:  # noqa: BLE001 - the torch cases still run; the onnx ones report why not
        print(f"  no ONNX network ({type(e).__name__}: {e}); the onnx cases will fail")
    model.save(path)


# -- the tile plan (the predictor's own functions) ---------------------------------------------
def resolve_tile(tile: str, spatial: tuple[int, ...]):
    """'auto' -> None (the predictor chooses), 'whole' -> the padded image, N or AxBxC -> as given."""
    from napari_noise2same.engine.tiling import padded_shape

    if tile == "auto":
        return None
    if tile == "whole":
        return list(padded_shape(spatial))
    parts = [int(v) for v in tile.lower().split("x")]
    return parts[0] if len(parts) == 1 else parts


def tile_plan(spatial, tile_size, base_width: int, dims: int):
    """(tile shape, number of tiles per sample) as predict() will use them."""
    from napari_noise2same.engine.tiling import padded_shape, tile_overlap, tile_shape, tile_starts

    tiles = tile_shape(tuple(tile_size) if isinstance(tile_size, list) else tile_size, spatial, base_width, dims)
    spans = zip(padded_shape(spatial), tiles, tile_overlap(None, tiles), strict=True)
    starts = [tile_starts(s, t, o) for s, t, o in spans]
    return tiles, math.prod(len(s) for s in starts)


# -- the child: one case in a fresh process ----------------------------------------------------
def child(spec: dict) -> dict:
    """One case: torch (``load_model``) or ONNX Runtime (``load_onnx_model``: torch not imported)."""
    import numpy as np

    from napari_noise2same.engine import PredictOptions

    onnx = spec.get("engine") == "onnx"
    if onnx:
        from napari_noise2same.engine.onnx_model import load_onnx_model

        model = load_onnx_model(spec["model_path"])
    else:
        import torch

        from napari_noise2same.engine import load_model

        if spec.get("threads"):
            torch.set_num_threads(int(spec["threads"]))
        model = load_model(spec["model_path"], device=spec["device"])
    image = synthetic_input(tuple(spec["shape"]))
    tile = spec["tile_size"]
    options = PredictOptions(
        tile_size=tuple(tile) if isinstance(tile, list) else tile, tta=spec["tta"], engine="onnx" if onnx else "torch"
    )
    warmup = np.random.default_rng(0).normal(size=(64, 64) if model.dims == 2 else (8, 64, 64)).astype(np.float32)
    model.predict(warmup, "YX" if model.dims == 2 else "ZYX", options)  # start-up, not timed
    cuda = spec["device"].startswith("cuda") and not onnx
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    rss_before = rss_mib()
    times = []
    for _ in range(spec["repeats"]):
        t0 = time.perf_counter()
        out = model.predict(image, spec["axes"], options)
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
        assert out.shape == image.shape and np.isfinite(out).all()
    if spec.get("save_output"):
        np.save(spec["save_output"], out)
    del out
    warm = statistics.median(times[1:]) if len(times) > 1 else None
    megapixels = image.size / 1e6
    return {
        **spec,
        "first_s": times[0],
        "warm_s": warm,
        "megapixels_per_s": megapixels / (warm or times[0]),
        "rss_before_mib": round(rss_before, 1),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "peak_cuda_mib": round(torch.cuda.max_memory_allocated() / 2**20, 1) if cuda else None,
        "input_mib": round(image.nbytes / 2**20, 1),
        "torch_threads": None if onnx else torch.get_num_threads(),
    }


# -- the parent --------------------------------------------------------------------------------
def build_cases(args, base_width: dict) -> list[dict]:
    small, large = (args.small_size,) * 2, (args.large_size,) * 2
    volume = (args.volume_depth, args.volume_size, args.volume_size)
    ttas = {"both": (False, True), "off": (False,), "on": (True,)}[args.tta]
    groups = [("2D model", "2d", "YX", small, args.tile_sizes), ("2D model", "2d", "YX", large, args.tile_sizes)]
    if not args.skip_volume:
        probe = (min(16, args.volume_depth), min(256, args.volume_size), min(256, args.volume_size))
        groups += [
            ("3D model (probe)", "3d", "ZYX", probe, ["auto"]),
            ("3D model", "3d", "ZYX", volume, args.volume_tiles),
            ("2D model, plane by plane", "2d", "ZYX", volume, args.plane_tiles),
        ]
    cases = []
    for label, model, axes, shape, tiles in groups:
        dims = 2 if model == "2d" else 3
        spatial = shape if dims == 3 else shape[-2:]
        seen = set()
        for tile in tiles:
            tile_size = resolve_tile(tile, spatial)
            if isinstance(tile_size, list) and len(tile_size) != dims:
                continue  # a 2D tile given for the 3D model or the reverse
            plan = tile_plan(spatial, tile_size, base_width[model], dims)
            if plan in seen:  # e.g. 512 px tiles on a 512 x 512 image = whole
                continue
            seen.add(plan)
            for tta in ttas:
                for engine in args.engines:
                    cases.append(
                        {
                            "label": label,
                            "model": model,
                            "axes": axes,
                            "shape": list(shape),
                            "tile": tile,
                            "tile_size": tile_size,
                            "tiles": list(plan[0]),
                            "n_tiles": plan[1],
                            "tta": tta,
                            "engine": engine,
                        }
                    )
    return cases


def processed_pixels(case: dict) -> int:
    """Pixels through the network: tiles x tile size x samples x TTA passes."""
    samples = case["shape"][0] if case["model"] == "2d" and len(case["shape"]) == 3 else 1
    square = case["tiles"][-1] == case["tiles"][-2]
    passes = (8 if square else 4) if case["tta"] else 1
    return case["n_tiles"] * math.prod(case["tiles"]) * samples * passes


def auto_choice(shape, dims: int, base_width: int) -> str:
    spatial = tuple(shape) if dims == 3 else tuple(shape[-2:])
    tiles, n = tile_plan(spatial, None, base_width, dims)
    return "whole" if n == 1 else f"{n} tiles of {'x'.join(map(str, tiles))}"


def main() -> int:
    from napari_noise2same.engine.unet import DEFAULT_PRESET, PRESETS

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    p.add_argument(
        "--preset", choices=list(PRESETS), default=DEFAULT_PRESET, help=f"network preset (default {DEFAULT_PRESET})"
    )
    p.add_argument("--train-steps", type=int, default=5, help="training steps of each model (default 5)")
    p.add_argument("--small-size", type=int, default=512, help="side of the small image (default 512)")
    p.add_argument("--large-size", type=int, default=2048, help="side of the large image (default 2048)")
    p.add_argument("--volume-depth", type=int, default=64, help="planes of the volume (default 64)")
    p.add_argument("--volume-size", type=int, default=1024, help="Y and X size of the volume (default 1024)")
    p.add_argument("--skip-volume", action="store_true", help="only the 2D images")
    p.add_argument(
        "--tile-sizes",
        nargs="+",
        default=["whole", "512", "256"],
        help="2D tilings: whole, auto or a side in px (default: whole 512 256)",
    )
    p.add_argument(
        "--plane-tiles",
        nargs="+",
        default=["whole"],
        help="2D tilings for the volume plane by plane (default: whole; e.g. whole 256)",
    )
    p.add_argument(
        "--volume-tiles",
        nargs="+",
        default=["auto"],
        help="3D tilings: auto, whole or ZxYxX, e.g. 32x512x512 "
        "(default: auto = the predictor's own choice, 64x256x256 tiles)",
    )
    p.add_argument(
        "--tta", choices=("both", "off", "on"), default="both", help="with and/or without TTA (default both)"
    )
    p.add_argument("--repeats", type=int, default=3, help="timed calls per case, fewer for slow cases (default 3)")
    p.add_argument(
        "--max-estimate",
        type=float,
        default=900.0,
        help="skip cases expected to take longer than this many seconds per call (default 900; 'inf': none)",
    )
    p.add_argument(
        "--threads", type=int, default=None, help="torch.set_num_threads in each case (default: torch's choice)"
    )
    p.add_argument(
        "--omp-wait-policy",
        choices=("default", "passive", "active"),
        default="default",
        help="OMP_WAIT_POLICY of the case processes (default: inherited)",
    )
    p.add_argument(
        "--engines",
        nargs="+",
        choices=("torch", "onnx"),
        default=["torch"],
        help="torch and/or onnx (ONNX Runtime, CPU; needs the onnx extra): each case once per engine, and the "
        "largest difference between their outputs",
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
    script = str(Path(__file__).resolve())
    payload = {"machine": facts, "settings": {k: v for k, v in vars(args).items() if k != "child"}, "cases": []}
    with tempfile.TemporaryDirectory(prefix="n2s_predict_bench_") as tmp:
        paths = {"2d": Path(tmp) / "model2d.n2s", "3d": Path(tmp) / "model3d.n2s"}
        which = "2D" if args.skip_volume else "2D and 3D"
        print(f"\ntraining the '{args.preset}' models ({which}) for {args.train_steps} steps ...", flush=True)
        t0 = time.perf_counter()
        train_model(2, args.preset, args.train_steps, device, paths["2d"])
        if not args.skip_volume:
            train_model(3, args.preset, args.train_steps, device, paths["3d"])
        print(f"  done in {time.perf_counter() - t0:.1f} s")
        width = {"2d": PRESETS[args.preset], "3d": PRESETS[args.preset]}
        cases = build_cases(args, width)
        volume = (args.volume_depth, args.volume_size, args.volume_size)
        choices = [((args.small_size,) * 2, "2D model", 2), ((args.large_size,) * 2, "2D model", 2)]
        if not args.skip_volume:
            choices += [(volume, "3D model", 3), ((args.volume_size,) * 2, "2D model per plane", 2)]
        print(
            "\npredict()'s own choice (tile_size=None): "
            + "; ".join(
                f"{'x'.join(map(str, s))} with the {m}: {auto_choice(s, d, PRESETS[args.preset])}"
                for s, m, d in choices
            )
        )
        print(f"\n{len(cases)} case(s), each in a fresh process\n")
        rates: dict[str, float] = {}  # processed pixels per second, per model, from the last case run
        rows = []
        outputs: dict[tuple, dict[str, Path]] = {}  # case without engine -> engine -> saved output
        for n, case in enumerate(cases):
            work = processed_pixels(case)
            rate_key = (case["model"], case["engine"])
            estimate = work / rates[rate_key] if rate_key in rates else None
            repeats = 1 if estimate is not None and estimate > SLOW_CASE_SECONDS else args.repeats
            name = (
                f"{case['label']} {'x'.join(map(str, case['shape']))}, {case['tile']}"
                f" ({case['n_tiles']} tile(s) of {'x'.join(map(str, case['tiles']))}),"
                f" TTA {'on' if case['tta'] else 'off'}, {case['engine']}"
            )
            if estimate is not None and estimate > args.max_estimate:
                print(f"skip {name}: expected ~{estimate:.0f} s > --max-estimate {args.max_estimate:g}", flush=True)
                rows.append({**case, "skipped": f"expected {estimate:.0f} s", "estimate_s": estimate})
                continue
            print(
                f"{name}: "
                + (f"expected ~{estimate:.1f} s per call x {repeats}" if estimate is not None else "no estimate yet")
                + " ...",
                flush=True,
            )
            same = tuple(sorted((k, str(v)) for k, v in case.items() if k != "engine"))
            saved = Path(tmp) / f"out{n}.npy" if len(args.engines) > 1 else None
            r = run_child(
                script,
                {
                    **case,
                    "model_path": str(paths[case["model"]]),
                    "device": "cpu" if case["engine"] == "onnx" else device,
                    "repeats": repeats,
                    "threads": args.threads,
                    "save_output": str(saved) if saved else None,
                },
                env=child_env(args.omp_wait_policy),
            )
            if saved is not None and saved.is_file():
                outputs.setdefault(same, {})[case["engine"]] = saved
                if len(outputs[same]) == 2:  # both engines done: how far apart, on the input's scale
                    import numpy as np

                    a, b = (np.load(p) for p in outputs[same].values())
                    scale = float(synthetic_input(tuple(case["shape"])).std())
                    r["max_diff_vs_other_engine"] = float(np.abs(a - b).max()) / scale
                    for p in outputs[same].values():
                        p.unlink()
            r.setdefault("label", case["label"])
            r["estimate_s"] = estimate
            rows.append({**case, **r})
            if "error" in r:
                print(f"  failed: {r['error']}")
                continue
            rates[rate_key] = work / (r["warm_s"] or r["first_s"])
            print(
                f"  first {r['first_s']:.2f} s"
                + (f", warm {r['warm_s']:.2f} s" if r["warm_s"] else "")
                + f", {r['megapixels_per_s']:.2f} Mpx/s, peak RSS {r['peak_rss_mib']:.0f} MiB"
                + (
                    f", max |difference| to the other engine {r['max_diff_vs_other_engine']:.1e} of the input's std"
                    if "max_diff_vs_other_engine" in r
                    else ""
                ),
                flush=True,
            )
        payload["cases"] = rows

    print(
        f"\n{'case':<26} {'shape':>12} {'tiling':>22} {'TTA':>3} {'engine':>6} {'expected s':>10} {'first s':>8} "
        f"{'warm s':>7} {'Mpx/s':>7} {'RSS before':>10} {'peak RSS':>8} {'peak CUDA':>9}"
    )
    for r in rows:
        tiling = f"{r['tile']}: {r['n_tiles']} x {'x'.join(map(str, r['tiles']))}"
        head = (
            f"{r['label']:<26} {'x'.join(map(str, r['shape'])):>12} {tiling:>22} {'on' if r['tta'] else 'off':>3} "
            f"{r['engine']:>6} {fmt(r.get('estimate_s'), '10.1f'):>10}"
        )
        if "skipped" in r or "error" in r:
            print(f"{head} {r.get('skipped') or 'failed: ' + r['error']}")
            continue
        print(
            f"{head} {r['first_s']:8.2f} {fmt(r['warm_s'], '7.2f'):>7} {r['megapixels_per_s']:7.2f} "
            f"{r['rss_before_mib']:10.0f} {r['peak_rss_mib']:8.0f} {fmt(r['peak_cuda_mib'], '9.0f'):>9}"
        )
    print(
        "(MiB; 'RSS before' = model and input loaded, before the first timed call; "
        "Mpx/s from the warm time when there is one)"
    )
    write_json(args.json, payload)
    return 0


if __name__ == "__main__":
    sys.exit(main())
