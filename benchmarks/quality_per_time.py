"""PSNR after 1, 3, 10 and 30 minutes of training: preset auto, each fixed preset, CAREamics N2V.

Datasets (benchmarks/shared_data.py; skipped with a message where ../shared/data lacks them):
  * fmd            - the FMD confocal FISH pair: train on noisy.png, score against clean.png;
  * set12          - Set12 with Gaussian noise sigma 25 (float, seed 0): train on the 27 crops of
                     256 x 256 of the 12 noisy images, score on the 12 full images;
  * fmd-photons4   - very noisy: FMD's clean image with Poisson noise at 4 photons (17.1 dB);
  * set12-sigma50  - very noisy: Set12 with sigma 50 (14.1 dB);
  * volume         - a synthetic 48 x 160 x 160 volume with Poisson-Gaussian noise (3D models).
PSNR with peak 255, the mean over the test images, prediction not clipped.

Ours (``--method auto|tiny|fast|paper``): one training run per budget and seed, from scratch,
with the package defaults (``TrainConfig(preset=...)``); the trainer is told its budget, as
the command line and the widget tell it, so the schedule fits it.  The clock starts when the
images are handed over (TrainingData and Trainer included) and the run ends at the budget.
CAREamics (``--method careamics``): its default N2V configuration in its own virtual
environment (careamics_snapshots_runner.py), one run to the largest budget with a snapshot at
every budget (its ReduceLROnPlateau schedule does not depend on the planned length).

Runs append one JSON record each to ``--jsonl``; ``report`` turns the records into a markdown
table and a plot.  Pin runs to cores to run two at a time (as for docs/training.md)::

    taskset -c 0 python benchmarks/quality_per_time.py run --data fmd --method auto --threads 1 \\
        --minutes 1 3 10 30 --jsonl /tmp/qpt.jsonl
    taskset -c 1 python benchmarks/quality_per_time.py run --data fmd --method careamics --threads 1 \\
        --careamics-python /opt/careamics030/bin/python --minutes 1 3 10 30 --jsonl /tmp/qpt.jsonl
    python benchmarks/quality_per_time.py report --jsonl /tmp/qpt.jsonl --markdown /tmp/qpt.md
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from shared_data import DATASETS, dataset, psnr

RUNNER = Path(__file__).parent / "careamics_snapshots_runner.py"
DEFAULT_PLOT = Path(__file__).resolve().parents[1] / "docs" / "images" / "quality_per_time.png"
METHODS = ("auto", "tiny", "fast", "paper", "careamics")


def score(data, outputs) -> float:
    """The dataset's own PSNR (the CARE protocol for microscopy, peak 255 for natural images)."""
    return float(np.mean([data.score(c, o) for c, o in zip(data.clean, outputs, strict=True)]))


def plain_score(data, outputs) -> float:
    """PSNR with peak 255 and no fitting, for every dataset (kept beside the protocol's)."""
    return float(np.mean([psnr(c, o) for c, o in zip(data.clean, outputs, strict=True)]))


def facts(threads: int) -> dict:
    from harness import cpu_model

    return {
        "cpu": cpu_model(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "threads": threads,
        "load": [round(v, 2) for v in os.getloadavg()],
    }


def parse_settings(items: list[str]) -> dict:
    """``["lambda_inv=4", "lr_schedule=step"]`` -> TrainConfig overrides (numbers where they parse)."""
    out = {}
    for item in items:
        key, _, text = item.partition("=")
        try:
            value = int(text)
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                value = {"true": True, "false": False}.get(text.lower(), text)
        out[key.strip()] = value
    return out


def val_terms(trainer, masks: int = 4, percent: float = 5.0) -> dict:
    """Other measures on the validation patches, to compare with the validation loss as a sign
    of quality: the reconstruction term, and the blind-spot error (the masked pixels' error
    against the noisy input, whose expectation is the error against the clean image plus the
    noise variance) over ``masks`` denser masks, with the invariance term on those pixels."""
    import torch

    from napari_noise2same.engine.masking import apply_mask, stratified_mask

    net, cfg = trainer.net, trainer.config
    was_training = net.training
    net.eval()
    x = torch.from_numpy(trainer._val).to(trainer.device)
    err = inv = count = 0.0
    with torch.no_grad():
        full = net(x)
        for k in range(masks):
            gen = torch.Generator(device=trainer.device).manual_seed(100 + k)
            mask = stratified_mask(tuple(x.shape), percent, device=trainer.device, generator=gen)
            out = net(apply_mask(x, mask, cfg.replacement, cfg.mask_sigma, generator=gen))
            err += float(((out - x) ** 2 * mask).sum())
            inv += float(((out - full) ** 2 * mask).sum())
            count += float(mask.sum())
        rec = float(((full - x) ** 2).mean())
    net.train(was_training)
    return {"rec": round(rec, 5), "blindspot": round(err / count, 5), "inv": round(inv / count, 6)}


def run_ours(
    data,
    key: str,
    method: str,
    seconds: float,
    seed: int,
    device: str = "cpu",
    settings: dict | None = None,
    save_to: str | None = None,
    label: str | None = None,
    score_last: bool = False,
    curve: bool = False,
) -> dict:
    from napari_noise2same.engine import TrainConfig, Trainer, TrainingData
    from napari_noise2same.engine.auto import Budget

    t0 = time.perf_counter()
    given = dict(settings or {})
    if score_last:  # the run as configured; its end (keep_best) is applied below, after scoring the last weights
        keep_best = given.pop("keep_best", True)  # unless told otherwise, score what keep_best would keep too
        given["keep_best"] = False
    config = TrainConfig(dims=data.dims, preset=method, seed=seed, **given)
    training = TrainingData.from_arrays(
        data.train, data.axes, dims=data.dims, patch_size=config.patch_size, val_fraction=config.val_fraction
    )
    trainer = Trainer(training, config, axes=data.axes, device=device, budget=Budget(seconds=seconds))
    setup = time.perf_counter() - t0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    points: list[dict] = []

    def on_event(event) -> None:  # --curve: the PSNR of the weights at each validation (its time counts)
        if event.val_loss is not None:
            now = trainer.to_model(diagnose=False, validate=False)
            psnr = score(data, [now.predict(im, data.axes) for im in data.test])
            point = {"step": event.step, "val_loss": round(event.val_loss, 5), "psnr": round(psnr, 3)}
            if data.unseen:  # the same content under noise it never trained on: does it fit its own noise?
                point["psnr_unseen"] = round(score(data, [now.predict(im, data.axes) for im in data.unseen]), 3)
            points.append({**point, **val_terms(trainer)})

    trainer.train(max_seconds=max(seconds - setup, 1e-3), on_event=on_event if curve else None)
    # CPU seconds per wall second per thread: below about 0.9 something else took the cores
    share = (time.process_time() - cpu0) / (time.perf_counter() - wall0) / torch_threads()
    extra = {}
    if score_last:
        last = trainer.to_model(diagnose=False, validate=False)
        extra["psnr_last"] = round(score(data, [last.predict(im, data.axes) for im in data.test]), 3)
        kept = trainer.restore_best() if keep_best else None
        extra["kept_step"] = kept["step"] if kept else None
        extra["kept_best"] = kept
    if curve:
        extra["curve"] = points
    model = trainer.to_model(diagnose=False)
    if save_to:
        Path(save_to).mkdir(parents=True, exist_ok=True)
        model.save(Path(save_to) / f"{key}_{label or method}_{seconds / 60:g}min_seed{seed}.n2s")
    outputs = [model.predict(im, data.axes) for im in data.test]
    if data.unseen:
        extra["psnr_unseen"] = round(score(data, [model.predict(im, data.axes) for im in data.unseen]), 3)
    return {
        "data": key,
        "method": method,
        "preset": trainer.config.preset,
        "batch_size": trainer.batch_size,
        "lr_schedule": trainer.config.lr_schedule,
        "lambda_inv": round(trainer.lambda_inv, 4),
        "settings": settings or {},
        "budget_s": seconds,
        "seed": seed,
        "seconds": round(setup + trainer.seconds, 2),
        "steps": trainer.step,
        "psnr": round(score(data, outputs), 3),
        "psnr_plain": round(plain_score(data, outputs), 3),
        "metric": data.metric,
        "device": str(trainer.device),
        "cpu_share": round(share, 3),
        **extra,
    }


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def run_careamics(
    data, key: str, python: str, budgets: list[float], seed: int, threads: int, struct: str | None = None
) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        train = data.train[0] if len(data.train) == 1 else np.stack(data.train)
        np.save(work / "train.npy", train)
        names = []
        for i, im in enumerate(data.test):
            np.save(work / f"test{i}.npy", im)
            names.append(str(work / f"test{i}.npy"))
        cmd = [
            python,
            str(RUNNER),
            "--input",
            str(work / "train.npy"),
            "--checkpoints",
            *map(str, budgets),
            "--predict",
            *names,
            "--predict-dir",
            str(work / "pred"),
            "--seed",
            str(seed),
        ]
        if data.dims == 3:
            cmd += ["--axes", "ZYX"]
        if struct:
            axes, _, span = struct.partition(":")
            cmd += ["--struct-axes", axes] + (["--struct-span", span] if span else [])
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)} if threads else None
        before, wall0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        share = cpu / (time.perf_counter() - wall0) / (threads or 1)
        if proc.returncode != 0:
            raise RuntimeError(f"CAREamics runner failed:\n{proc.stderr[-3000:]}")
        info = json.loads(proc.stdout.strip().splitlines()[-1])
        rows = []
        for snap in info["snapshots"]:
            outs = [np.load(work / "pred" / f"{snap['checkpoint']:g}s_test{i}.npy") for i in range(len(data.test))]
            rows.append(
                {
                    "data": key,
                    "method": "careamics",
                    "preset": f"N2V {info['careamics_version']}",
                    "budget_s": snap["checkpoint"],
                    "seed": seed,
                    "seconds": snap["seconds"],
                    "steps": snap["steps"],
                    "psnr": round(score(data, outs), 3),
                    "psnr_plain": round(plain_score(data, outs), 3),
                    "metric": data.metric,
                    "cpu_share": round(share, 3),
                    **({"settings": {"struct_n2v": struct}} if struct else {}),
                }
            )
    return rows


def run(args) -> int:
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    data = dataset(args.data)
    if data is None:
        print(f"skip {args.data}: its files are not under ../shared/data")
        return 0
    machine = facts(torch.get_num_threads())
    noisy = round(score(data, data.test), 3)
    budgets = [m * 60 for m in sorted(args.minutes)]
    print(
        f"{data.name}: noisy input {noisy:.2f} dB; {args.method}; budgets {args.minutes} min; machine {machine}",
        flush=True,
    )
    for seed in args.seeds:
        if args.method == "careamics":
            rows = run_careamics(
                data, args.data, args.careamics_python, budgets, seed, args.threads, args.careamics_struct
            )
        else:
            rows = [
                run_ours(
                    data,
                    args.data,
                    args.method,
                    b,
                    seed,
                    args.device,
                    parse_settings(args.set),
                    args.models,
                    args.label,
                    args.score_last,
                    args.curve,
                )
                for b in budgets
            ]
        for row in rows:
            row.update(noisy_psnr=noisy, machine=machine, label=args.label or row["method"])
            print(json.dumps(row), flush=True)
            with open(args.jsonl, "a") as f:
                f.write(json.dumps(row) + "\n")
    return 0


# -- report --------------------------------------------------------------------------------------
OURS = ("auto", "tiny", "fast", "paper")


def load_rows(paths: list[str]) -> list[dict]:
    rows = []
    for path in paths:
        rows += [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    return rows


def collect(rows: list[dict]) -> dict:
    """(data, method, budget) -> rows; for CAREamics the stronger version's rows in each cell.

    Only rows with the package's own settings count for our methods (a ``--label`` variant
    with ``--set`` is an experiment, not a preset).
    """
    cells: dict = defaultdict(list)
    versions: dict = defaultdict(lambda: defaultdict(list))
    for r in rows:
        key = (r["data"], r["method"], r["budget_s"])
        if r["method"] == "careamics":
            versions[key][r.get("preset", "N2V")].append(r)
        elif not r.get("settings") and r.get("label", r["method"]) == r["method"]:
            cells[key].append(r)
    for key, by_version in versions.items():
        cells[key] = max(by_version.values(), key=lambda got: np.mean([r["psnr"] for r in got]))
    return cells


def mean_psnr(got: list[dict]) -> float:
    return float(np.mean([r["psnr"] for r in got]))


def report(args) -> int:
    rows = load_rows(args.jsonl)
    cells = collect(rows)
    budgets = sorted({b for _, _, b in cells})
    order = [k for k in DATASETS if any(d == k for d, _, _ in cells)]
    lines = [
        "| data (noisy input dB) | method | " + " | ".join(f"{b / 60:g} min" for b in budgets) + " |",
        "| --- | --- | " + " | ".join("---" for _ in budgets) + " |",
    ]
    for key in order:
        noisy = next(r["noisy_psnr"] for r in rows if r["data"] == key)
        for method in METHODS:
            if not any(m == method and d == key for d, m, _ in cells):
                continue
            out = []
            for b in budgets:
                got = cells.get((key, method, b))
                if not got:
                    out.append("")
                    continue
                values = [r["psnr"] for r in got]
                text = f"{np.mean(values):.2f}"
                if len(values) > 1:
                    text += f" ± {np.std(values):.2f} (n={len(values)})"
                if method == "auto":
                    text += f" [{got[0]['preset']}]"
                if method == "careamics":
                    text += f" [{got[0]['preset'].split()[-1]}]"
                out.append(text)
            label = "CAREamics N2V (stronger version)" if method == "careamics" else method
            lines.append(f"| {dataset_label(key)} ({noisy:.2f}) | {label} | " + " | ".join(out) + " |")
    table = "\n".join(lines)
    print(table)
    leads = []
    for key in order:
        for b in budgets:
            ours, peer = cells.get((key, "auto", b)), cells.get((key, "careamics", b))
            if not ours:
                continue
            fixed = [mean_psnr(cells[(key, p, b)]) for p in OURS[1:] if (key, p, b) in cells]
            lead = "" if not peer else f"{mean_psnr(ours) - mean_psnr(peer):+.2f}"
            gap = "" if not fixed else f"{mean_psnr(ours) - max(fixed):+.2f}"
            leads.append(f"| {dataset_label(key)} | {b / 60:g} min | {lead} | {gap} |")
    summary = "| data | budget | auto - CAREamics dB | auto - best fixed preset dB |\n| --- | --- | --- | --- |\n"
    summary += "\n".join(leads)
    print("\n" + summary)
    if args.markdown:
        Path(args.markdown).write_text(table + "\n\n" + summary + "\n")
    if args.plot:
        plot(cells, order, budgets, Path(args.plot), rows[0].get("machine", {}))
    return 0


def dataset_label(key: str) -> str:
    return {
        "fmd": "FMD confocal",
        "set12": "Set12 σ25",
        "fmd-photons4": "FMD, 4 photons",
        "set12-sigma50": "Set12 σ50",
        "volume": "3D volume",
        "fmd-correlated": "FMD, correlated noise",
    }.get(key, key)


def plot(cells, order, budgets, path: Path, machine: dict) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no plot: matplotlib is not installed (pip install 'napari-noise2same[benchmarks]')")
        return
    fig, axes = plt.subplots(1, len(order), figsize=(4.2 * len(order), 3.8), squeeze=False)
    for ax, key in zip(axes[0], order, strict=True):
        for method in METHODS:
            xs, ys = [], []
            for b in budgets:
                got = cells.get((key, method, b))
                if got:
                    xs.append(b / 60)
                    ys.append(np.mean([r["psnr"] for r in got]))
            if xs:
                style = (
                    {"linewidth": 2.5} if method == "auto" else {"linestyle": "--" if method == "careamics" else ":"}
                )
                ax.plot(xs, ys, marker="o", label="CAREamics N2V" if method == "careamics" else method, **style)
        ax.set_xscale("log")
        ax.set_xticks([b / 60 for b in budgets], [f"{b / 60:g}" for b in budgets])
        ax.set_title(dataset_label(key), fontsize=10)
        ax.set_xlabel("training minutes")
        ax.set_ylabel("PSNR dB")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{machine.get('cpu', '')}, {machine.get('threads', '?')} thread(s) per run", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="train and score one method on one dataset")
    r.add_argument("--data", choices=DATASETS, required=True)
    r.add_argument("--method", choices=METHODS, required=True)
    r.add_argument("--minutes", type=float, nargs="+", default=[1, 3, 10, 30])
    r.add_argument("--seeds", type=int, nargs="+", default=[0])
    r.add_argument("--threads", type=int, help="torch threads (and OMP_NUM_THREADS for CAREamics)")
    r.add_argument("--careamics-python", help="python of a virtual environment with careamics==0.3.0")
    r.add_argument(
        "--careamics-struct",
        metavar="AXES[:SPAN]",
        help="CAREamics' structN2V, set by hand: horizontal (along X), vertical (along Y) or cross, "
        "with its span (default 5: 11 px)",
    )
    r.add_argument("--device", default="cpu", help="our device (default cpu)")
    r.add_argument(
        "--set",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="TrainConfig settings for our runs, e.g. lambda_inv=4 lr_schedule=step",
    )
    r.add_argument("--label", help="name of this variant in the records (default: the method)")
    r.add_argument(
        "--score-last",
        action="store_true",
        help="also score the run's last weights (psnr_last), before its end keeps the lowest validation loss's",
    )
    r.add_argument(
        "--curve",
        action="store_true",
        help="record the validation loss and the PSNR at every validation (scoring takes from the budget)",
    )
    r.add_argument("--models", metavar="DIR", help="save each of our trained models here (.n2s)")
    r.add_argument("--jsonl", required=True)
    r.set_defaults(func=run)
    s = sub.add_parser("report", help="table and plot from the records")
    s.add_argument("--jsonl", required=True, nargs="+", help="record files (several are merged)")
    s.add_argument("--markdown")
    s.add_argument("--plot", default=str(DEFAULT_PLOT))
    s.set_defaults(func=report)
    args = p.parse_args()
    if getattr(args, "method", None) == "careamics" and not args.careamics_python:
        p.error("--method careamics needs --careamics-python")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
