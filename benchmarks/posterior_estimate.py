"""The noise-model posterior (engine/posterior.py) against Noise2Same's own output and map.

For each dataset, training budget and seed: a model is trained with the defaults (the spread
head beside it), then on the test images

* PSNR of the Noise2Same output ``f(x)``, of the context prediction ``mu`` (every pixel
  predicted from its neighbours, ``k`` masked passes) and of the posterior mean, for each
  ``k`` of ``--passes``; the prediction time of each;
* the uncertainty maps: today's (engine/uncertainty.py, TTA + re-noising, what
  ``predict --uncertainty`` gives), the posterior standard deviation, and the Noise2Same
  output's expected error under the posterior, ``sqrt((f(x) - mean)^2 + std^2)``, each scored
  against the real error of the Noise2Same output (and of the posterior mean) over 8 x 8 windows: the
  partial Spearman correlation given the denoised intensity and the calibration (mean map /
  mean |error|).

    python benchmarks/posterior_estimate.py run --data fmd-photons4 --minutes 1 --seeds 0 1 2 \\
        --json /tmp/posterior.jsonl
    python benchmarks/posterior_estimate.py report /tmp/posterior*.jsonl

One JSON line per (dataset, minutes, seed); ``report`` prints mean +- standard deviation over seeds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from harness import machine_facts, print_facts
from shared_data import dataset, partial_spearman, windows


def planes(a: np.ndarray) -> list[np.ndarray]:
    return [a] if a.ndim == 2 else list(a)


def map_scores(u: np.ndarray, denoised: np.ndarray, clean: np.ndarray) -> dict:
    """Partial Spearman (given intensity) over 8 x 8 windows of every YX plane, and calibration."""
    err = np.abs(denoised.astype(np.float64) - clean)
    uw = np.concatenate([windows(p) for p in planes(u.astype(np.float64))])
    ew = np.concatenate([windows(p) for p in planes(err)])
    lw = np.concatenate([windows(p) for p in planes(denoised.astype(np.float64))])
    return {"partial": partial_spearman(uw, ew, lw), "calibration": float(u.mean() / err.mean())}


def train(data, seconds: float, seed: int, threads: int):
    from napari_noise2same.engine import TrainConfig, Trainer, TrainingData
    from napari_noise2same.engine.auto import Budget

    config = TrainConfig(dims=data.dims, seed=seed)
    training = TrainingData.from_arrays(
        data.train, data.axes, dims=data.dims, patch_size=config.patch_size, val_fraction=config.val_fraction
    )
    trainer = Trainer(training, config, axes=data.axes, device="cpu", budget=Budget(seconds=seconds))
    trainer.train(max_seconds=seconds)
    model = trainer.to_model(diagnose=False)
    from napari_noise2same.engine.estimate import choose_estimate

    t0 = time.perf_counter()  # what auto records at the end of training (engine/estimate.py)
    chosen = choose_estimate(model, trainer.data.sources[0], "auto")
    return model, trainer.step, {**chosen, "seconds": round(time.perf_counter() - t0, 2)}


def evaluate(data, model, passes: list[int], seed: int, with_maps: bool) -> dict:
    from napari_noise2same.engine.posterior import PASSES, posterior
    from napari_noise2same.engine.predict_options import PredictOptions
    from napari_noise2same.engine.uncertainty import uncertainty

    plain = PredictOptions(engine="torch", estimate="n2s")
    row: dict = {"n2s": [], "t_n2s": 0.0, "maps": {}}
    for k in passes:
        row[f"context_k{k}"], row[f"post_k{k}"], row[f"t_post_k{k}"] = [], [], 0.0
    maps: dict[str, list[dict]] = {}
    for i, (noisy, clean) in enumerate(zip(data.test, data.clean, strict=True)):
        noisy = np.asarray(noisy, np.float32)
        clean = np.asarray(clean, np.float64)
        t0 = time.perf_counter()
        out = model.predict(noisy, data.axes, plain)
        row["t_n2s"] += time.perf_counter() - t0
        row["n2s"].append(data.score(clean, out))
        post = None
        for k in passes:
            t0 = time.perf_counter()
            p = posterior(model, noisy, data.axes, passes=k, seed=seed + i)
            row[f"t_post_k{k}"] += time.perf_counter() - t0
            row[f"context_k{k}"].append(data.score(clean, p.context))
            row[f"post_k{k}"].append(data.score(clean, p.mean))
            if post is None or k == PASSES:  # the maps with the default passes
                post = p
            row.setdefault(f"expected_gain_k{k}", []).append(expected_gain_db(out, p))
        if data.dims == 2 and noisy.ndim == 2:
            row.setdefault("oracle", []).append(oracle(model, noisy, clean, data))
        if with_maps and post is not None:
            t0 = time.perf_counter()
            today = uncertainty(model, noisy, data.axes, plain, denoised=out, seed=seed + i)
            row["t_today_map"] = row.get("t_today_map", 0.0) + time.perf_counter() - t0
            for name, u in (("today", today), ("posterior_std", post.std)):
                maps.setdefault(f"{name}|n2s", []).append(map_scores(u, out, clean))
                maps.setdefault(f"{name}|post", []).append(map_scores(u, post.mean, clean))
            # the Noise2Same output's expected error under the posterior: E[(f - x)^2] = (f - mean)^2 + std^2
            expected = np.sqrt((out.astype(np.float64) - post.mean) ** 2 + post.std.astype(np.float64) ** 2)
            maps.setdefault("posterior_error|n2s", []).append(map_scores(expected, out, clean))
    for key in list(row):
        if isinstance(row[key], list):
            row[key] = round(float(np.mean(row[key])), 3)
        elif key.startswith("t_"):
            row[key] = round(row[key], 2)
    row["maps"] = {
        k: {m: round(float(np.mean([s[m] for s in v])), 3) for m in ("partial", "calibration")} for k, v in maps.items()
    }
    return row


def oracle(model, noisy: np.ndarray, clean: np.ndarray, data, bins: int = 20) -> float:
    """The bound on the posterior mean: PSNR with the true prior variance and noise variance
    of each of ``bins`` quantiles of the spread head's variance (the clean image tells them)."""
    from napari_noise2same.engine.posterior import PASSES, context_prediction

    mean, std = float(noisy.mean()), float(noisy.std())
    mu_n, v_n = context_prediction(model, ((noisy - mean) / std)[None].astype(np.float32), PASSES)
    mu, v, y = mu_n[0] * std + mean, v_n[0] * std * std, noisy.astype(np.float64)
    which = np.clip(np.searchsorted(np.quantile(v, np.linspace(0, 1, bins + 1)), v) - 1, 0, bins - 1)
    prior = np.array([np.mean((clean - mu)[which == b] ** 2) for b in range(bins)])[which]
    noise = np.array([np.mean((y - clean)[which == b] ** 2) for b in range(bins)])[which]
    return data.score(clean, mu + prior / (prior + noise) * (y - mu))


def expected_gain_db(denoised: np.ndarray, post) -> float:
    """The posterior's own account of its gain over ``denoised``: E[(denoised - x)^2] / E[(mean - x)^2]
    with x drawn from the posterior (measured and not used: it overstates the gain)."""
    var = float(np.mean(post.std.astype(np.float64) ** 2))
    diff = float(np.mean((denoised.astype(np.float64) - post.mean) ** 2))
    return float(10 * np.log10((diff + var) / var)) if var > 0 else 0.0


def run(args) -> int:
    import torch

    torch.set_num_threads(args.threads)
    facts = machine_facts("cpu")
    print_facts(facts)
    for key in args.data:
        for minutes in args.minutes:
            for seed in args.seeds:
                data = dataset(key, seed=seed)
                if data is None:
                    print(f"skip {key}: its files are not under ../shared/data")
                    continue
                model, steps, chosen = train(data, minutes * 60, seed, args.threads)
                passes = args.passes if data.dims == 2 else args.passes_3d
                row = {"data": key, "minutes": minutes, "seed": seed, "steps": steps, "auto": chosen}
                row |= evaluate(data, model, passes, seed, not args.no_maps)
                row["machine"] = {k: facts[k] for k in ("cpu", "usable_cores", "torch", "date")}
                row["threads"] = args.threads
                print(json.dumps(row), flush=True)
                if args.json:
                    with open(args.json, "a") as f:
                        f.write(json.dumps(row) + "\n")
    return 0


def report(args) -> int:
    from napari_noise2same.engine.posterior import PASSES

    rows = [json.loads(line) for p in args.files for line in Path(p).read_text().splitlines() if line.strip()]
    cells: dict[tuple, list[dict]] = {}
    for r in rows:
        cells.setdefault((r["data"], r["minutes"]), []).append(r)

    def ms(values) -> str:
        v = np.asarray(values, float)
        return f"{v.mean():.2f} +- {v.std(ddof=1) if len(v) > 1 else 0:.2f}"

    for (key, minutes), got in sorted(cells.items()):
        print(f"\n{key}, {minutes:g} min, {len(got)} seed(s), steps {ms([r['steps'] for r in got])}")
        print(f"  n2s           {ms([r['n2s'] for r in got])} dB   {ms([r['t_n2s'] for r in got])} s")
        if "oracle" in got[0]:
            print(f"  oracle posterior (true variances per 5 % of the head's) {ms([r['oracle'] for r in got])}")
        ks = sorted(int(k.split("_k")[1]) for k in got[0] if k.startswith("post_k"))
        for k in ks:
            gain = [r[f"post_k{k}"] - r["n2s"] for r in got]
            print(
                f"  k={k:<3d} context {ms([r[f'context_k{k}'] for r in got])}"
                f"  posterior {ms([r[f'post_k{k}'] for r in got])}"
                f"  (post - n2s {ms(gain)}, by its own account {ms([r[f'expected_gain_k{k}'] for r in got])})"
                f"  {ms([r[f't_post_k{k}'] / r['t_n2s'] for r in got])} x n2s's time"
            )
        if "auto" in got[0]:
            picks = [r["auto"]["estimate"] for r in got]
            sure = [r["auto"]["sure_gain_db"] for r in got]
            kept = [r[f"post_k{PASSES}"] - r["n2s"] if r["auto"]["estimate"] == "posterior" else 0.0 for r in got]
            print(f"  auto: {', '.join(picks)} (SURE gain {sure}); auto - n2s {ms(kept)} dB")
        if got[0]["maps"]:
            for name in got[0]["maps"]:
                part = [r["maps"][name]["partial"] for r in got]
                cal = [r["maps"][name]["calibration"] for r in got]
                print(f"  map {name:20s} partial {ms(part)}  calibration {ms(cal)}")
            if "t_today_map" in got[0]:
                print(f"  today's map {ms([r['t_today_map'] / r['t_n2s'] for r in got])} x n2s's time")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--data", nargs="+", default=["fmd", "fmd-photons4", "set12", "set12-sigma50", "fmd-volume"])
    r.add_argument("--minutes", type=float, nargs="+", default=[1.0])
    r.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    r.add_argument("--passes", type=int, nargs="+", default=[4, 9, 16], help="masked passes k, 2D")
    r.add_argument("--passes-3d", type=int, nargs="+", default=[9], help="masked passes k, 3D")
    r.add_argument("--threads", type=int, default=1)
    r.add_argument("--no-maps", action="store_true", help="skip the uncertainty maps")
    r.add_argument("--json", help="append one JSON line per run here")
    q = sub.add_parser("report")
    q.add_argument("files", nargs="+")
    args = p.parse_args()
    return run(args) if args.command == "run" else report(args)


if __name__ == "__main__":
    sys.exit(main())
