"""One model from many images: a time-lapse as one stack against its frames as separate images,
and a folder of files larger than memory.

``stack-vs-frames``: a bleaching time-lapse with known ground truth (FMD's clean image, falling
from 1 to ``--final`` of its brightness over ``--frames`` frames, Poisson noise at ``--photons``;
the stack of benchmarks/stack_normalisation.py) trained as one TYX stack and as ``--frames``
YX images (what the training widget gets from that many layers), the same steps and seed, each
in a fresh process: mean PSNR over the frames (each frame scored on the first frame's 0-255
scale) and peak resident memory.

``folder-memory``: writes ``--files`` uint16 TIFFs of ``--planes`` x 2048 x 2048 (1 GiB each at
128 planes) into ``--folder``, then trains ``--steps`` steps on the whole folder in a fresh
process, as the widget's folder mode reads it (every TIFF patch by patch) and as the command
line does (files in memory while they fit in a quarter of the free memory, the rest patch by
patch), reporting peak resident memory and seconds.  Point ``--folder`` at a disk with room.

    python benchmarks/many_images.py stack-vs-frames --steps 400 --seeds 0 1 2 --jsonl /tmp/many.jsonl
    python benchmarks/many_images.py folder-memory --folder /tmp/big --files 25 --jsonl /tmp/many.jsonl
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from harness import machine_facts, peak_rss_mib, print_facts, run_child
from shared_data import fmd_pair, psnr

SETTINGS = {"preset": "tiny", "patch_size": 64, "batch_size": 16}


def bleaching_stack(frames: int, final: float, photons: float, seed: int):
    pair = fmd_pair()
    if pair is None:
        return None
    brightness = final ** (np.arange(frames) / max(1, frames - 1))
    clean = np.stack([pair[1] * b for b in brightness]).astype(np.float32)
    noisy = (np.random.default_rng(seed).poisson(clean / 255.0 * photons) * (255.0 / photons)).astype(np.float32)
    return noisy, clean, brightness


def child(spec: dict) -> dict:
    from napari_noise2same.engine import TrainConfig, Trainer, TrainingData

    if spec["kind"] == "folder":
        from napari_noise2same.batch import read_training_inputs
        from napari_noise2same.io import find_inputs

        t0 = time.perf_counter()
        images = read_training_inputs(find_inputs([spec["folder"]]), lazy=spec["lazy"])
        data = TrainingData.from_arrays([im.data for im in images], [im.axes for im in images], patch_size=64)
        opened = time.perf_counter() - t0
        trainer = Trainer(data, TrainConfig(seed=0, **SETTINGS), device="cpu")
        trainer.train(max_steps=spec["steps"])
        lazy = sum(not isinstance(im.data, np.ndarray) for im in images)
        return {
            "files": len(images),
            "lazy_files": lazy,
            "open_s": round(opened, 1),
            "steps_per_s": round(spec["steps"] / trainer.seconds, 2),
            "peak_rss_mib": round(peak_rss_mib()),
        }
    made = bleaching_stack(spec["frames"], spec["final"], spec["photons"], spec["seed"])
    assert made is not None
    noisy, clean, brightness = made
    if spec["kind"] == "stack":
        data = TrainingData.from_arrays([noisy], "TYX", patch_size=SETTINGS["patch_size"])
        trainer = Trainer(data, TrainConfig(seed=spec["seed"], **SETTINGS), axes="TYX", device="cpu")
        trainer.train(max_steps=spec["steps"])
        out = trainer.to_model(diagnose=False).predict(noisy, "TYX")
    else:  # frames: as many images as frames, each YX
        frames = [np.ascontiguousarray(f) for f in noisy]
        data = TrainingData.from_arrays(frames, "YX", patch_size=SETTINGS["patch_size"])
        trainer = Trainer(data, TrainConfig(seed=spec["seed"], **SETTINGS), axes="YX", device="cpu")
        trainer.train(max_steps=spec["steps"])
        model = trainer.to_model(diagnose=False)
        out = np.stack([model.predict(f, "YX") for f in frames])
    scores = [psnr(c / b, o / b) for c, o, b in zip(clean, out, brightness, strict=True)]
    return {
        "psnr": round(float(np.mean(scores)), 3),
        "first": round(scores[0], 3),
        "last": round(scores[-1], 3),
        "seconds": round(trainer.seconds, 1),
        "peak_rss_mib": round(peak_rss_mib()),
    }


def write_folder(folder: Path, files: int, planes: int, side: int = 2048) -> float:
    """``files`` uint16 ZYX TIFFs of noisy blobs, written plane by plane; returns GiB written."""
    import tifffile

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:side, 0:side]
    base = 300 + 200 * (np.sin(yy / 37.0) * np.cos(xx / 53.0)) ** 2
    noise = rng.poisson(base).astype(np.uint16)  # one noisy plane, shifted per plane (cheap to make)
    for i in range(files):
        path = folder / f"stack{i:03d}.tif"
        if path.exists():
            continue
        tmp = path.with_suffix(".part")
        planes_iter = (np.roll(noise, (7 * p + i, 13 * p), axis=(0, 1)) for p in range(planes))
        tifffile.imwrite(tmp, planes_iter, shape=(planes, side, side), dtype=np.uint16, metadata={"axes": "ZYX"})
        tmp.rename(path)
    return sum(p.stat().st_size for p in folder.glob("*.tif")) / 2**30


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        print(json.dumps(child(json.loads(sys.argv[2]))))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    a = sub.add_parser("stack-vs-frames")
    a.add_argument("--frames", type=int, default=20)
    a.add_argument("--final", type=float, default=0.2)
    a.add_argument("--photons", type=float, default=30.0)
    a.add_argument("--steps", type=int, default=400)
    a.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    b = sub.add_parser("folder-memory")
    b.add_argument("--folder", required=True)
    b.add_argument("--files", type=int, default=25)
    b.add_argument("--planes", type=int, default=128)
    b.add_argument("--steps", type=int, default=100)
    b.add_argument("--keep", action="store_true", help="keep the written folder")
    for p in (a, b):
        p.add_argument("--jsonl")
    args = parser.parse_args()
    facts = machine_facts("cpu")
    print_facts(facts)
    rows = []
    if args.what == "stack-vs-frames":
        if fmd_pair() is None:
            print("skipped: FMD is not in ../shared/data (set NOISE2SAME_DATA)")
            return
        for seed in args.seeds:
            for kind in ("stack", "frames"):
                spec = {"kind": kind, "seed": seed, "steps": args.steps, "frames": args.frames}
                spec.update(final=args.final, photons=args.photons)
                r = run_child(__file__, spec)
                rows.append({**spec, **r})
                print(f"seed {seed} {kind:6s}: {json.dumps(r)}", flush=True)
        for kind in ("stack", "frames"):
            got = [r for r in rows if r["kind"] == kind and "psnr" in r]
            if got:
                ps, mem = [r["psnr"] for r in got], [r["peak_rss_mib"] for r in got]
                print(
                    f"{kind:6s}: PSNR {np.mean(ps):.2f} dB (range {min(ps):.2f}-{max(ps):.2f}), "
                    f"peak RSS {np.mean(mem):.0f} MiB (range {min(mem)}-{max(mem)})"
                )
    else:
        folder = Path(args.folder)
        t0 = time.perf_counter()
        gib = write_folder(folder, args.files, args.planes)
        print(f"folder {folder}: {args.files} files, {gib:.1f} GiB ({time.perf_counter() - t0:.0f} s to write)")
        try:
            for lazy, how in ((True, "widget folder mode (every file lazily)"), (None, "command line rule")):
                spec = {"kind": "folder", "folder": str(folder), "steps": args.steps, "lazy": lazy}
                r = run_child(__file__, spec)
                rows.append({**spec, "gib": round(gib, 2), "how": how, **r})
                print(f"{how}: {json.dumps(r)}", flush=True)
        finally:
            if not args.keep:
                shutil.rmtree(folder, ignore_errors=True)
    if args.jsonl:
        with open(args.jsonl, "a") as f:
            for r in rows:
                f.write(json.dumps({"benchmark": args.what, **r, "machine": facts}) + "\n")


if __name__ == "__main__":
    main()
