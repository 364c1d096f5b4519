"""Per-frame against whole-stack normalisation on a bleaching time-lapse (known ground truth).

The stack: ``--frames`` frames of one clean image (FMD's 50-frame mean, or Set12's images as
different frames with ``--data set12``) whose brightness falls as exp(-t / tau) from 1 to
``--final`` of the first frame, each frame with its own Poisson noise at ``--photons`` for the
first frame's brightest value (the photon count falls with the brightness, as in bleaching).

Two trainings per seed, the same steps and the package's settings, differing only in how
frames are standardised for the network, in training and in prediction:
  * stack: one mean and std per channel over the whole stack (the engine's per-frame statistics
    replaced by the whole stack's for this run);
  * frame: each frame by its own mean and std (the engine's rule, the official Noise2Same code's).
Scored per frame as PSNR against that frame's clean image, both divided by the frame's
brightness factor (so every frame is scored on the first frame's 0-255 scale); the table gives
the mean over frames, the first and the last frame.

    python benchmarks/stack_normalisation.py --steps 800 --seeds 0 1 2 --jsonl /tmp/norm.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from shared_data import fmd_pair, psnr, set12


def bleaching_stack(data: str, frames: int, final: float, photons: float, seed: int = 0):
    """(noisy, clean, brightness): (T, Y, X) float32 stacks in 0-255 units and (T,) factors."""
    if data == "fmd":
        pair = fmd_pair()
        if pair is None:
            return None
        cleans = [pair[1]] * frames
    else:
        images = set12(25.0)
        if images is None:
            return None
        side = min(min(c.shape) for _, _, c in images)
        cleans = [images[t % len(images)][2][:side, :side] for t in range(frames)]
    brightness = final ** (np.arange(frames) / max(1, frames - 1))  # exp decay from 1 to `final`
    clean = np.stack([c * b for c, b in zip(cleans, brightness, strict=True)]).astype(np.float32)
    rng = np.random.default_rng(seed)
    noisy = (rng.poisson(clean / 255.0 * photons) * (255.0 / photons)).astype(np.float32)
    return noisy, clean, brightness


def run(noisy, mode: str, steps: int, seed: int, preset: str) -> np.ndarray:
    """Train with the package's settings and denoise; ``mode`` "stack" replaces the engine's
    per-frame statistics, in training and in prediction, by the whole stack's."""
    from unittest import mock

    from napari_noise2same.engine import TrainConfig, Trainer, TrainingData
    from napari_noise2same.engine import data as data_module

    def whole_stack_stats(array, layout, name="the image"):
        mean, std, (image_mean, image_std) = frame_stats(array, layout, name)
        return (
            np.broadcast_to(image_mean, mean.shape).copy(),
            np.broadcast_to(image_std, std.shape).copy(),
            (image_mean, image_std),
        )

    frame_stats = data_module.frame_stats
    patch = mock.patch.object(data_module, "frame_stats", whole_stack_stats) if mode == "stack" else mock.MagicMock()
    with patch:
        data = TrainingData.from_arrays([noisy], "TYX", patch_size=64, val_fraction=0.05)
        trainer = Trainer(data, TrainConfig(preset=preset, seed=seed), axes="TYX", device="cpu")
        trainer.train(max_steps=steps)
        model = trainer.to_model(diagnose=False)
    if mode == "stack":
        model.normalization["per"] = "image"  # predict with the whole stack's mean and std
    assert model.per_frame == (mode == "frame")
    return model.predict(noisy, "TYX")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", choices=("fmd", "set12"), default="fmd")
    p.add_argument("--frames", type=int, default=12)
    p.add_argument("--final", type=float, default=0.1, help="last frame's brightness relative to the first")
    p.add_argument("--photons", type=float, default=30.0, help="photons for 255 in the first frame")
    p.add_argument("--steps", type=int, default=800)
    p.add_argument("--preset", default="tiny")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--threads", type=int)
    p.add_argument("--jsonl", help="append one record per run")
    args = p.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    made = bleaching_stack(args.data, args.frames, args.final, args.photons)
    if made is None:
        print(f"skip: ../shared/data has no {args.data} images")
        return 0
    noisy, clean, brightness = made

    def scores(image):
        return [psnr(c / b, im / b) for c, im, b in zip(clean, image, brightness, strict=True)]

    base = scores(noisy)
    print(
        f"{args.data}: {args.frames} frames, brightness 1 -> {args.final}, {args.photons} photons at the start; "
        f"noisy input {np.mean(base):.2f} dB (first frame {base[0]:.2f}, last {base[-1]:.2f})"
    )
    print("| normalisation | seed | mean PSNR dB | first frame | last frame |")
    print("| --- | --- | --- | --- | --- |")
    for seed in args.seeds:
        for mode in ("stack", "frame"):
            s = scores(run(noisy, mode, args.steps, seed, args.preset))
            print(f"| {mode} | {seed} | {np.mean(s):.2f} | {s[0]:.2f} | {s[-1]:.2f} |", flush=True)
            if args.jsonl:
                with open(args.jsonl, "a") as f:
                    f.write(
                        json.dumps(
                            {
                                "data": args.data,
                                "mode": mode,
                                "seed": seed,
                                "steps": args.steps,
                                "mean": float(np.mean(s)),
                                "per_frame": [float(v) for v in s],
                                "noisy": [float(v) for v in base],
                                **{k: v for k, v in vars(args).items() if k in ("frames", "final", "photons")},
                            }
                        )
                        + "\n"
                    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
