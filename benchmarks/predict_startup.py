"""Start-up of ``noise2same predict`` at several commits: what a user waits for before any work.

For each commit (``WORKTREE``: the working tree as it is), its ``src/`` is unpacked as in
quality_by_commit.py and three commands run ``--repeats`` times each, a fresh process each:

* ``noise2same predict --help``;
* an empty run: ``predict`` with a model on a folder that holds no image (it loads what it
  must and stops with its one-line message);
* ``predict`` on eight noisy 512 x 512 TIFFs (the whole command, as a user runs it).

With the time of all the imports of the eight-image run (``python -X importtime``, the
top-level modules' cumulative time) and whether ``onnx``, ``torch`` and ``numpy`` were imported
by ``--help``.  One model (``tiny``, 5 steps, with its ONNX network, written by the first
commit) serves them all, as newer code reads older models.  Pin it to one core, the other idle::

    taskset -c 0 python benchmarks/predict_startup.py 6ae7182 WORKTREE --json /tmp/startup.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from harness import cpu_model
from quality_by_commit import unpack

CODE = "import sys; from napari_noise2same.cli import main; sys.exit(main(sys.argv[1:]))"


def command(root: Path, args: list[str], env_extra: dict | None = None) -> tuple[float, subprocess.CompletedProcess]:
    env = dict(os.environ, PYTHONPATH=str(root / "src"), **(env_extra or {}))
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CODE, *args], env=env, capture_output=True, text=True)
    return time.perf_counter() - t0, done


def import_ms(stderr: str) -> float:
    """Cumulative ms of the top-level imports in ``-X importtime`` output."""
    total = 0.0
    for line in stderr.splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            _, cumulative, name = line[len("import time:") :].split("|", 2)
            if not name[1:].startswith(" "):  # depth 0
                total += int(cumulative) / 1000
    return total


def modules_of_help(root: Path) -> list[str]:
    probe = (
        "import sys, contextlib, io\nfrom napari_noise2same.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try: main(['predict', '--help'])\n    except SystemExit: pass\n"
        "print(' '.join(m for m in ('onnx', 'onnxruntime', 'torch', 'numpy') if m in sys.modules))"
    )
    env = dict(os.environ, PYTHONPATH=str(root / "src"))
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    return done.stdout.split()


def make_inputs(tmp: Path, root: Path) -> tuple[Path, Path, Path]:
    import tifffile

    images, empty = tmp / "images", tmp / "empty"
    images.mkdir()
    empty.mkdir()
    rng = np.random.default_rng(0)
    for i in range(8):
        tifffile.imwrite(images / f"image_{i}.tif", rng.normal(100, 10, (512, 512)).astype(np.float32))
    model = tmp / "model.n2s"
    _, done = command(root, ["train", str(images / "image_0.tif"), "-o", str(model), "--steps", "5"])
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    return images, empty, model


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("commits", nargs="+", help="commits to compare (WORKTREE: the working tree)")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        roots = [unpack(commit, tmp) for commit in args.commits]
        images, empty, model = make_inputs(tmp, roots[0][0])  # newer code reads older models
        for root, short in roots:
            row: dict = {"commit": short, "help_imports": modules_of_help(root)}
            cases = {
                "help": ["predict", "--help"],
                "empty": ["predict", "-m", str(model), str(empty), "-o", str(tmp / "out_empty")],
                "eight": ["predict", "-m", str(model), str(images), "-o", str(tmp / f"out_{short}")],
            }
            for _ in range(args.repeats):  # interleaved, so that a slow moment hits every case
                for name, cmd in cases.items():
                    seconds, done = command(root, cmd)
                    if name != "empty" and done.returncode:
                        raise RuntimeError(f"{short} {name}: {done.stderr[-2000:]}")
                    row.setdefault(name, []).append(round(seconds, 3))
            _, done = command(root, cases["eight"], {"PYTHONPROFILEIMPORTTIME": "1"})
            row["eight_imports_ms"] = round(import_ms(done.stderr), 1)
            rows.append(row)
            print(
                f"{short}: --help {statistics.median(row['help']):.3f} s, empty run "
                f"{statistics.median(row['empty']):.3f} s, eight images {statistics.median(row['eight']):.3f} s "
                f"(medians of {args.repeats}; imports of that run {row['eight_imports_ms']:.0f} ms; "
                f"--help imports: {' '.join(row['help_imports']) or 'none of onnx, torch, numpy'})",
                flush=True,
            )
    if args.json:
        args.json.write_text(json.dumps({"cpu": cpu_model(), "cores": os.cpu_count(), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
