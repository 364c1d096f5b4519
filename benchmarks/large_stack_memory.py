"""Peak memory of training on and denoising a TIFF stack larger than we want in memory.

Writes a synthetic uint16 ZYX stack of about ``--gb`` GiB (noisy blobs, written plane by
plane, so making it needs little memory), trains a 2D model on it for a few steps, then runs
``noise2same predict`` over it, each in a fresh process whose peak resident memory (ru_maxrss)
is reported.  ``--output zarr`` predicts into a zarr store instead (the out-of-core path of
overlapping dask chunks, engine/chunked.py); ``both`` runs both.
``--lazy`` forces the lazy path (as on a machine whose free memory is less than
4x the file: ``io.images.LAZY_MEMORY_FRACTION``); ``--eager`` reads the file whole, for comparison.

    python benchmarks/large_stack_memory.py --gb 2 --lazy
    python benchmarks/large_stack_memory.py --gb 1 --lazy --output zarr
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHILD = """
import json, resource, sys, time
import napari_noise2same.io.images as images
if {lazy} is not None:
    images.LAZY_MEMORY_FRACTION = 0.0 if {lazy} else 1e9
from napari_noise2same.cli import main
t0 = time.perf_counter()
code = main({argv!r})
print(json.dumps({{"code": code, "seconds": time.perf_counter() - t0,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def make_stack(path: Path, gib: float, size: int = 2048, seed: int = 0) -> tuple[int, ...]:
    import tifffile

    from napari_noise2same.examples import poisson_gaussian, synthetic_cells

    planes = max(1, int(gib * 2**30 / (size * size * 2)))
    tile = synthetic_cells((256, 256), seed=seed)  # repeated and shifted: structure everywhere

    def plane_iter():
        for z in range(planes):
            clean = np.roll(np.tile(tile, (size // 256, size // 256)), (3 * z, 5 * z), axis=(0, 1))
            yield (poisson_gaussian(clean, photons=20, seed=z) * 2000 + 100).clip(0, 65535).astype(np.uint16)

    shape = (planes, size, size)
    tifffile.imwrite(
        path,
        plane_iter(),
        shape=shape,
        dtype=np.uint16,
        imagej=True,
        resolution=(1 / 0.1, 1 / 0.1),
        metadata={"axes": "ZYX", "spacing": 0.3, "unit": "um"},
    )
    return shape


def run(argv: list[str], lazy: bool | None) -> dict:
    code = CHILD.format(lazy=lazy, argv=argv)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gb", type=float, default=2.0, help="stack size in GiB (default 2)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--lazy", action="store_true", help="force lazy reading")
    mode.add_argument("--eager", action="store_true", help="force reading the file whole")
    p.add_argument("--steps", type=int, default=30, help="training steps (default 30)")
    p.add_argument("--workdir", help="where the stack goes (default: a temporary folder)")
    p.add_argument(
        "--output", choices=("tiff", "zarr", "both"), default="tiff", help="what predict writes (default tiff)"
    )
    args = p.parse_args()
    lazy = True if args.lazy else False if args.eager else None
    import psutil

    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        tmp = Path(tmp)
        stack = tmp / "stack.tif"
        t0 = time.perf_counter()
        shape = make_stack(stack, args.gb)
        size = stack.stat().st_size
        print(
            f"stack {shape} uint16, {size / 2**30:.2f} GiB, written in {time.perf_counter() - t0:.0f} s; "
            f"available memory {psutil.virtual_memory().available / 2**30:.1f} GiB; reading: "
            f"{'lazy' if lazy else 'eager' if lazy is False else 'automatic'}"
        )
        model = tmp / "m.n2s"
        train = run(["train", str(stack), "-o", str(model), "--steps", str(args.steps), "--seed", "0"], lazy)
        print(f"train {args.steps} steps: {train['seconds']:.0f} s, peak RSS {train['peak_mib']:.0f} MiB")
        for kind in ("tiff", "zarr") if args.output == "both" else (args.output,):
            out = tmp / "out" / ("stack_denoised.tif" if kind == "tiff" else "stack_denoised.zarr")
            target = str(tmp / "out") if kind == "tiff" else str(out)
            (tmp / "out").mkdir(exist_ok=True)
            predict = run(["predict", "-m", str(model), str(stack), "-o", target], lazy)
            written = (
                out.stat().st_size if kind == "tiff" else sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
            )
            print(
                f"predict to {kind}: {predict['seconds']:.0f} s "
                f"({np.prod(shape) / predict['seconds'] / 1e6:.1f} Mpx/s), "
                f"peak RSS {predict['peak_mib']:.0f} MiB, output {written / 2**30:.2f} GiB float32 on disk"
            )
            shutil.rmtree(out) if out.is_dir() else os.remove(out)


if __name__ == "__main__":
    main()
