"""The same command-line run at several commits: to find the change that moved a figure.

Each commit's ``src/`` is unpacked (``git archive``) into a temporary folder and run from there
(``PYTHONPATH``), in this environment, as a user runs it: ``noise2same train`` on the dataset's
noisy images with its defaults and a time budget, then ``noise2same predict``; the output is
scored with the dataset's own PSNR (benchmarks/shared_data.py).  Pin it to a core and give one
thread, so that commits are compared at the same speed::

    taskset -c 1 python benchmarks/quality_by_commit.py c4765f2 HEAD --data fmd-volume \\
        --seconds 180 --seeds 0 1 2 --jsonl /tmp/by_commit.jsonl

``WORKTREE`` as a commit runs the working tree's ``src/`` as it is.  ``--extra`` passes more
options to ``train`` (e.g. ``--extra=--lambda-inv=2``).  One JSON record per run is appended to
``--jsonl`` and a table of means and spreads per commit is printed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from shared_data import DATASETS, dataset

REPO = Path(__file__).resolve().parents[1]


def unpack(commit: str, into: Path) -> tuple[Path, str]:
    """(the folder whose ``src`` holds ``commit``'s package, its short hash)."""
    if commit == "WORKTREE":
        return REPO, "worktree"
    sha = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", commit], capture_output=True, text=True)
    sha.check_returncode()
    short = sha.stdout.strip()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", short, "src"], capture_output=True, check=True)
    folder = into / short
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(folder, filter="data")
    return folder, short


def noise2same(root: Path, args: list[str], threads: int) -> str:
    env = dict(os.environ, PYTHONPATH=str(root / "src"), OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    code = "import sys; from napari_noise2same.cli import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"noise2same {args[0]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done.stdout + done.stderr


def run(root: Path, short: str, data, key: str, seconds: float, seed: int, threads: int, extra: list[str]) -> dict:
    import tifffile

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        inputs = []
        for i, image in enumerate(data.train):
            inputs.append(tmp_path / f"train_{i}.tif")
            tifffile.imwrite(inputs[-1], image.astype(np.float32))
        dims = ["--dims", str(data.dims)]
        t0 = time.perf_counter()
        log = noise2same(
            root,
            ["train", *map(str, inputs), "-o", str(tmp_path / "m.n2s"), "--axes", data.axes, *dims,
             "--max-seconds", str(seconds), "--seed", str(seed), *extra],
            threads,
        )  # fmt: skip
        train_s = time.perf_counter() - t0
        scores = []
        for i, (noisy, clean) in enumerate(zip(data.test, data.clean, strict=True)):
            path = tmp_path / f"test_{i}.tif"
            tifffile.imwrite(path, noisy.astype(np.float32))
            out = tmp_path / f"out_{i}"
            noise2same(root, ["predict", "-m", str(tmp_path / "m.n2s"), str(path), "-o", str(out), "--axes", data.axes],
                       threads)  # fmt: skip
            scores.append(data.score(clean, tifffile.imread(next(out.glob("*.tif")))))
    steps = re.findall(r"(\d[\d,]*) steps", log)
    return {
        "commit": short,
        "data": key,
        "seconds": seconds,
        "seed": seed,
        "extra": extra,
        "psnr": round(float(np.mean(scores)), 3),
        "train_wall_s": round(train_s, 1),
        "steps": int(steps[-1].replace(",", "")) if steps else None,
        "log_tail": log.strip().splitlines()[-6:],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("commits", nargs="+", help="commits (anything git rev-parse takes), or WORKTREE")
    p.add_argument("--data", default="fmd-volume", choices=DATASETS)
    p.add_argument("--seconds", type=float, default=180.0)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--extra", action="append", default=[], help="one more option for train (repeat)")
    p.add_argument("--jsonl", type=Path)
    args = p.parse_args()
    records = []
    with tempfile.TemporaryDirectory() as tmp:
        for commit in args.commits:
            root, short = unpack(commit, Path(tmp))
            for seed in args.seeds:
                data = dataset(args.data, seed=seed)
                if data is None:
                    print(f"skipped: {args.data} needs ../shared/data")
                    return
                record = run(root, short, data, args.data, args.seconds, seed, args.threads, args.extra)
                records.append(record)
                print(json.dumps({k: v for k, v in record.items() if k != "log_tail"}), flush=True)
                if args.jsonl:
                    with args.jsonl.open("a") as f:
                        f.write(json.dumps(record) + "\n")
    print(f"\n{args.data}, {args.seconds:g} s, seeds {' '.join(map(str, args.seeds))}")
    for commit in dict.fromkeys(r["commit"] for r in records):
        values = [r["psnr"] for r in records if r["commit"] == commit]
        sd = np.std(values, ddof=1) if len(values) > 1 else 0.0
        print(f"{commit:>10}  {np.mean(values):.2f} dB  (sd {sd:.2f}, n={len(values)})")


if __name__ == "__main__":
    main()
