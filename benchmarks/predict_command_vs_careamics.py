"""The whole prediction command, start-up included: ``noise2same predict`` against CAREamics.

Eight 512 x 512 noisy images go into a temporary folder as float32 TIFFs: the FMD confocal
frame, the five 512 x 512 Set12 images and 2 x 2 mosaics of the 256 x 256 ones (Gaussian
noise sigma 25, seed 0), filled up with synthetic images where ../shared/data is missing.
Our model (``--preset``, default the package default) trains on them for ``--train-seconds``
and is saved as a .n2s file; then the whole command

    noise2same predict -m model.n2s IN_DIR -o OUT_DIR

runs ``--repeats`` times in a fresh process each (wall clock from start to exit: interpreter,
imports, model loading, reading, predicting and writing 8 TIFFs); the first run is shown apart
(cold caches), the median is over all runs.  With ``--careamics-python``, CAREamics 0.3.0 N2V
(default configuration, as careamics_n2v_runner.py) trains on the same 8 images for the same
number of seconds, and careamics_predict_runner.py, which loads its checkpoint and writes the 8
predictions with ``predict_to_disk`` (CAREamics has no command line), is timed the same way.
Both predict whole images.  The PSNR of each output against the clean image is printed as a
check that both did the job.

Also the start-up alone: ``noise2same info model.n2s``, ``noise2same --version`` and
``python -c "import torch"``, and the slowest imports of ``noise2same predict``
(``PYTHONPROFILEIMPORTTIME=1``, the same as ``python -X importtime``).

    python benchmarks/predict_command_vs_careamics.py \\
        --careamics-python /opt/careamics-0.3.0/bin/python /opt/careamics-0.3.5/bin/python \\
        --json /tmp/predict_command.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from harness import machine_facts, print_facts, resolve_device_name, write_json
from shared_data import fmd_pair, psnr, set12

N2V_RUNNER = Path(__file__).parent / "careamics_n2v_runner.py"
PREDICT_RUNNER = Path(__file__).parent / "careamics_predict_runner.py"


# -- the images --------------------------------------------------------------------------------
def make_images(n: int = 8, size: int = 512, seed: int = 0) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, noisy, clean) x n, all size x size float32."""
    pool = []
    pair = fmd_pair()
    if pair is not None and min(pair[0].shape) >= size:
        pool.append(("fmd_confocal_fish", pair[0][:size, :size], pair[1][:size, :size]))
    s12 = set12(25.0, seed=seed) or []
    pool += [
        (f"set12_{name}", noisy[:size, :size], clean[:size, :size])
        for name, noisy, clean in s12
        if min(noisy.shape) >= size
    ]
    half = [(name, noisy, clean) for name, noisy, clean in s12 if noisy.shape == (size // 2, size // 2)]
    k = 0
    while half and len(pool) < n:  # 2 x 2 mosaics of the small images, in turn
        four = [half[(4 * k + i) % len(half)] for i in range(4)]

        def mosaic(j, four=four):
            return np.block([[four[0][j], four[1][j]], [four[2][j], four[3][j]]])

        pool.append((f"set12_mosaic_{'_'.join(f[0] for f in four)}", mosaic(1), mosaic(2)))
        k += 1
    if len(pool) < n:
        from napari_noise2same.examples import poisson_gaussian, synthetic_cells

        print(f"note: {n - len(pool)} synthetic image(s): ../shared/data has too few 512 x 512 images")
        for i in range(n - len(pool)):
            clean = synthetic_cells((size, size), seed=seed + i)
            pool.append((f"synthetic_{i}", 255 * poisson_gaussian(clean, seed=seed + i), 255 * clean))
    return [(name, noisy.astype(np.float32), clean.astype(np.float32)) for name, noisy, clean in pool[:n]]


# -- running and timing commands ---------------------------------------------------------------
def noise2same_command() -> list[str]:
    exe = Path(sys.executable).parent / ("noise2same.exe" if os.name == "nt" else "noise2same")
    return [str(exe)] if exe.is_file() else [sys.executable, "-m", "napari_noise2same.cli"]


def timed(cmd: list[str], env: dict | None = None) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return seconds, proc


def repeat(make_cmd, repeats: int, label: str) -> dict:
    """Run ``make_cmd(i)`` (a command, or (command, output folder)) ``repeats`` times."""
    times, last = [], None
    for i in range(repeats):
        cmd = make_cmd(i)
        seconds, last = timed(cmd)
        times.append(seconds)
        print(f"  {label} run {i + 1}: {seconds:.2f} s", flush=True)
    return {"runs_s": times, "first_s": times[0], "median_s": statistics.median(times), "last_stdout": last.stdout}


def score_outputs(folder: Path, images, suffix: str) -> list[float] | None:
    import tifffile

    scores = []
    for name, _, clean in images:
        found = sorted(folder.rglob(f"{name}{suffix}"))
        if not found:
            return None
        out = np.asarray(tifffile.imread(found[0]), dtype=np.float32).squeeze()
        if out.shape != clean.shape:
            return None
        scores.append(psnr(clean, out))
    return scores


def engine_difference(tmp: Path, images) -> float:
    """Largest |torch - ONNX Runtime| over the outputs, over the input's standard deviation."""
    import tifffile

    worst = 0.0
    for name, noisy, _ in images:
        a, b = (tifffile.imread(tmp / f"ours_{e}_0" / f"{name}_denoised.tif") for e in ("torch", "onnx"))
        worst = max(worst, float(np.abs(a - b).max()) / float(noisy.std()))
    return worst


def import_offenders(cmd: list[str], top: int = 12) -> tuple[list, list]:
    """(packages by the cumulative time of their first import, modules by self time) of one run
    of ``cmd``, as (name, self ms, cumulative ms, depth)."""
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    _, proc = timed(cmd, env=env)
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative_us, name = line[len("import time:") :].split("|", 2)
        depth = (len(name) - len(name.lstrip(" "))) // 2
        rows.append((name.strip(), int(self_us) / 1000, int(cumulative_us) / 1000, depth))
    packages = sorted((r for r in rows if "." not in r[0]), key=lambda r: -r[2])[:top]
    by_self = sorted(rows, key=lambda r: -r[1])[:top]
    return packages, by_self


# -- main --------------------------------------------------------------------------------------
def main() -> int:
    from napari_noise2same.engine.unet import DEFAULT_PRESET, PRESETS

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--careamics-python", nargs="+", help="python of a virtual environment with careamics (one per version)"
    )
    p.add_argument("--train-seconds", type=float, default=30.0, help="training time of each model (default 30)")
    p.add_argument("--repeats", type=int, default=3, help="runs of each command; the median is reported (default 3)")
    p.add_argument(
        "--preset", choices=list(PRESETS), default=DEFAULT_PRESET, help=f"our preset (default {DEFAULT_PRESET})"
    )
    p.add_argument("--images", type=int, default=8, help="number of images (default 8)")
    p.add_argument("--size", type=int, default=512, help="image side (default 512)")
    p.add_argument("--device", default="cpu", help="our --device for training and predict (default cpu)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--keep", metavar="DIR", help="keep the images, models and outputs in DIR (default: a temp dir)")
    p.add_argument("--json", metavar="PATH", help="write the figures as JSON")
    args = p.parse_args()

    device = resolve_device_name(args.device)
    facts = machine_facts(device)
    print_facts(facts)
    payload = {"machine": facts, "settings": vars(args)}
    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="n2s_predict_cmd_"))
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        return run(args, device, tmp, payload)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


def run(args, device: str, tmp: Path, payload: dict) -> int:
    import tifffile

    from napari_noise2same.engine import TrainConfig, Trainer, TrainingData

    images = make_images(args.images, args.size, args.seed)
    in_dir = tmp / "in"
    in_dir.mkdir(exist_ok=True)
    for name, noisy, _ in images:
        tifffile.imwrite(in_dir / f"{name}.tif", noisy)
    noisy_psnr = statistics.mean(psnr(c, n) for _, n, c in images)
    print(
        f"\n{len(images)} images of {args.size} x {args.size} in {in_dir}: {', '.join(n for n, _, _ in images)}"
        f" (noisy PSNR {noisy_psnr:.2f} dB)"
    )

    print(f"training ours ('{args.preset}', {args.train_seconds:g} s) ...", flush=True)
    config = TrainConfig(preset=args.preset, seed=args.seed)
    data = TrainingData.from_arrays(
        [n for _, n, _ in images], "YX", patch_size=config.patch_size, val_fraction=config.val_fraction
    )
    trainer = Trainer(data, config, axes="YX", device=device)
    trainer.train(max_seconds=args.train_seconds)
    model_path = tmp / "model.n2s"
    model = trainer.to_model(diagnose=False)
    engines = ["torch"]
    try:
        model.with_onnx()  # as noise2same train does where the onnx extra is installed
        engines.append("onnx")
    except Exception as e:  # noqa: BLE001 - then only the torch engine is timed
        print(f"  no ONNX ({type(e).__name__}: {e}): timing --engine torch only")
    model.save(model_path)
    print(f"  {trainer.step} steps in {trainer.seconds:.1f} s -> {model_path}")

    n2s = noise2same_command()
    results = {}
    for engine in engines:
        print(f"\nours: {' '.join(n2s)} predict -m model.n2s IN -o OUT --device {device} --engine {engine}")
        ours = repeat(
            lambda i, engine=engine: (
                n2s
                + [
                    "predict",
                    "-m",
                    str(model_path),
                    str(in_dir),
                    "-o",
                    str(tmp / f"ours_{engine}_{i}"),
                    "--device",
                    device,
                    "--engine",
                    engine,
                ]
            ),
            args.repeats,
            f"noise2same predict --engine {engine}",
        )
        ours["psnr"] = score_outputs(tmp / f"ours_{engine}_0", images, "_denoised.tif")
        results[f"noise2same predict ({engine})"] = ours
    if len(engines) == 2:
        payload["max_diff_engines_over_input_std"] = engine_difference(tmp, images)
        print(
            f"  torch and ONNX Runtime outputs: largest difference {payload['max_diff_engines_over_input_std']:.1e}"
            " of the input's std"
        )

    print("\nstart-up alone:")
    startup = {
        "noise2same info": repeat(lambda i: n2s + ["info", str(model_path)], args.repeats, "noise2same info"),
        "noise2same --version": repeat(lambda i: n2s + ["--version"], args.repeats, "noise2same --version"),
        "python -c 'import torch'": repeat(
            lambda i: [sys.executable, "-c", "import torch"], args.repeats, "import torch"
        ),
    }
    packages, by_self = import_offenders(
        n2s + ["predict", "-m", str(model_path), str(in_dir), "-o", str(tmp / "importtime")]
    )
    payload["imports"] = {"packages_cumulative_ms": packages, "modules_self_ms": by_self}

    for python in args.careamics_python or []:
        print(f"\nCAREamics ({python}): training N2V ({args.train_seconds:g} s budget) ...", flush=True)
        stack = np.stack([n for _, n, _ in images])
        np.save(tmp / "train.npy", stack)
        work = tmp / f"careamics_{len(results)}"
        cmd = [
            python,
            str(N2V_RUNNER),
            "--input",
            str(tmp / "train.npy"),
            "--output",
            str(tmp / "c_out.npy"),
            "--epochs",
            "100000",
            "--max-seconds",
            str(args.train_seconds),
            "--work-dir",
            str(work),
            "--seed",
            str(args.seed),
        ]
        _, proc = timed(cmd)
        info = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"  {info['steps']} steps in {info['train_seconds']:.1f} s (careamics {info['careamics_version']})")
        ckpt = work / "final_weights.ckpt"
        out = tmp / f"careamics_out_{info['careamics_version']}"
        theirs = repeat(
            lambda i, python=python, ckpt=ckpt, out=out: [
                python,
                str(PREDICT_RUNNER),
                "--checkpoint",
                str(ckpt),
                "--input-dir",
                str(in_dir),
                "--output-dir",
                str(out / str(i)),
            ],
            args.repeats,
            f"CAREamics {info['careamics_version']} predict",
        )
        theirs["inside"] = json.loads(theirs["last_stdout"].strip().splitlines()[-1])
        theirs["train"] = info
        theirs["psnr"] = score_outputs(out / "0", images, ".tif*")
        results[f"CAREamics {info['careamics_version']} predict_to_disk"] = theirs
        startup[f"import careamics {info['careamics_version']}"] = repeat(
            lambda i, python=python: [python, "-c", "import careamics"], args.repeats, "import careamics"
        )

    n = len(images)
    print(
        f"\nwhole command, {n} images of {args.size} x {args.size}, {args.repeats} run(s) each "
        "(wall clock, start-up included)"
    )
    print(f"{'command':<28} {'first s':>8} {'median s':>9} {'s / image':>10} {'mean PSNR dB':>12}")
    for name, r in results.items():
        score = statistics.mean(r["psnr"]) if r.get("psnr") else None
        print(
            f"{name:<28} {r['first_s']:8.2f} {r['median_s']:9.2f} {r['median_s'] / n:10.3f} "
            + (f"{score:12.2f}" if score is not None else f"{'n/a':>12}")
        )
    ours_fast = min((r for k, r in results.items() if k.startswith("noise2same")), key=lambda r: r["median_s"])
    payload["ratios_careamics_over_ours"] = {}
    for name, r in results.items():
        if name.startswith("CAREamics"):
            ratio = r["median_s"] / ours_fast["median_s"]
            inside = r["inside"]
            payload["ratios_careamics_over_ours"][name] = ratio
            print(
                f"{name} / ours (the faster engine): {ratio:.2f}x (inside its process: import "
                f"{inside['import_seconds']:.1f} s, load {inside['load_seconds']:.1f} s, "
                f"predict {inside['predict_seconds']:.1f} s)"
            )
    print(f"\n{'start-up':<30} {'first s':>8} {'median s':>9}")
    for name, r in startup.items():
        print(f"{name:<30} {r['first_s']:8.2f} {r['median_s']:9.2f}")
    print("\nslowest imports of noise2same predict (PYTHONPROFILEIMPORTTIME, one run):")
    print(f"{'package (first import)':<44} {'cumulative ms':>13}      {'module':<44} {'self ms':>8}")
    for (a, _, cum, _), (b, own, _, _) in zip(packages, by_self, strict=False):
        print(f"{a[:44]:<44} {cum:13.0f}      {b[:44]:<44} {own:8.0f}")

    for r in list(results.values()) + list(startup.values()):
        r.pop("last_stdout", None)
    payload["commands"], payload["startup"] = results, startup
    write_json(args.json, payload)
    return 0


if __name__ == "__main__":
    sys.exit(main())
