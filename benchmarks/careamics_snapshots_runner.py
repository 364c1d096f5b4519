"""Train CAREamics Noise2Void (careamics 0.3.0, default N2V config) with snapshots at given times.

Peer runner for quality_per_time.py.  One training run, with the configuration of
careamics_n2v_runner.py (``create_advanced_n2v_config``: batch 16 of 64 x 64 patches, its own
validation patches, ReduceLROnPlateau) and an epoch count too large to be reached: the run
stops at the last checkpoint time.  When the training clock passes each checkpoint (checked
after every step), the weights are saved with ``trainer.save_checkpoint`` while the clock is
paused.  After training, every snapshot predicts the ``--predict`` images (whole images), saved
as ``<predict-dir>/<checkpoint>s_<stem>.npy`` in the input's intensity units.

The clock starts before ``CAREamist`` is built, so CAREamics' data preparation and Lightning
start-up count as training time (as in careamics_n2v_runner.py); its validation every epoch and
its own checkpoint files every 10 epochs count too, as they are part of its default training.
Its learning-rate schedule depends on the epochs run, not on the number requested, so the
snapshot at t seconds is the model that a run stopped at t seconds would have given.

Usage:
    python careamics_snapshots_runner.py --input TRAIN.npy --checkpoints 30 60 180 \
        --predict A.npy B.npy --predict-dir DIR [--work-dir DIR] [--seed 0]

All library output goes to stderr; stdout gets one final line of JSON.
"""

import argparse
import contextlib
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from pytorch_lightning import Callback

EPOCHS = 100_000  # never reached: the last checkpoint stops the run


class SnapshotClock(Callback):
    """Save the weights when the training clock passes each checkpoint; stop after the last."""

    def __init__(self, start: float, checkpoints: list[float], folder: Path) -> None:
        self.start = start
        self.pending = sorted(checkpoints)
        self.folder = folder
        self.paused = 0.0
        self.first_batch_seconds = None
        self.snapshots = []

    def elapsed(self) -> float:
        return time.perf_counter() - self.start - self.paused

    def on_train_batch_start(self, trainer, *args) -> None:
        if self.first_batch_seconds is None:
            self.first_batch_seconds = self.elapsed()

    def on_train_batch_end(self, trainer, *args) -> None:
        while self.pending and self.elapsed() >= self.pending[0]:
            checkpoint = self.pending.pop(0)
            seconds = self.elapsed()
            t0 = time.perf_counter()
            path = self.folder / f"snapshot_{checkpoint:g}s.ckpt"
            trainer.save_checkpoint(path)
            self.snapshots.append(
                {
                    "checkpoint": checkpoint,
                    "seconds": round(seconds, 3),
                    "steps": int(trainer.global_step),
                    "epochs": int(trainer.current_epoch),
                    "path": str(path),
                }
            )
            self.paused += time.perf_counter() - t0
        if not self.pending:
            # same as CAREamist.stop_training(): stop and skip further validation
            trainer.should_stop = True
            trainer.limit_val_batches = 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, help="float32 .npy, 2D (YX) or a stack (SYX) of noisy images")
    parser.add_argument("--checkpoints", type=float, nargs="+", required=True, help="training seconds of the snapshots")
    parser.add_argument("--predict", nargs="+", required=True, help="2D .npy images each snapshot predicts")
    parser.add_argument("--predict-dir", required=True)
    parser.add_argument("--work-dir", default=None, help="default: a temp dir, deleted at the end")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--axes",
        default=None,
        help="YX, SYX (default by the array's dims) or ZYX for a 3D model "
        "(patches of 16 x 64 x 64, batch 2, as the 3D default of napari-noise2same on a CPU)",
    )
    parser.add_argument(
        "--struct-axes",
        default="none",
        help="structN2V: horizontal (along X), vertical (along Y), cross, or none (the default: plain N2V)",
    )
    parser.add_argument("--struct-span", type=int, default=5, help="structN2V span (CAREamics' default 5: 11 px)")
    args = parser.parse_args()

    image = np.load(args.input).astype(np.float32)
    if image.ndim not in (2, 3):
        sys.exit(f"expected a 2D (YX) or 3D (SYX or ZYX) array, got shape {image.shape}")
    axes = args.axes or ("YX" if image.ndim == 2 else "SYX")
    work_dir = Path(args.work_dir or tempfile.mkdtemp(prefix="careamics_snapshots_"))
    out_dir = Path(args.predict_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    with contextlib.redirect_stdout(sys.stderr):
        import careamics
        import torch
        from careamics import CAREamist
        from careamics.config import create_advanced_n2v_config

        # as careamics_n2v_runner.py: create_n2v_config's defaults, plus a seed (> 0 required)
        config = create_advanced_n2v_config(
            experiment_name="n2v_snapshots",
            data_type="array",
            axes=axes,
            patch_size=[16, 64, 64] if axes == "ZYX" else [64, 64],
            batch_size=2 if axes == "ZYX" else 16,
            num_epochs=EPOCHS,
            seed=args.seed + 1,
            **(
                {"struct_n2v_axes": args.struct_axes, "struct_n2v_span": args.struct_span}
                if args.struct_axes != "none"
                else {}
            ),
        )
        t_start = time.perf_counter()
        clock = SnapshotClock(t_start, args.checkpoints, work_dir)
        careamist = CAREamist(config, work_dir=work_dir, callbacks=[clock], enable_progress_bar=False)
        careamist.train(train_data=image)
        train_seconds = clock.elapsed()

        targets = [np.load(f).astype(np.float32) for f in args.predict]
        for snap in clock.snapshots:
            t0 = time.perf_counter()
            for f, target in zip(args.predict, targets, strict=True):
                predictions, _ = careamist.predict(
                    target, checkpoint=snap["path"], axes="ZYX" if axes == "ZYX" else "YX"
                )
                prediction = np.asarray(predictions[0], dtype=np.float32).squeeze()
                if prediction.shape != target.shape:
                    sys.exit(f"prediction shape {prediction.shape} != input {target.shape}")
                np.save(out_dir / f"{snap['checkpoint']:g}s_{Path(f).stem}.npy", prediction)
            snap["predict_seconds"] = round(time.perf_counter() - t0, 3)

    if args.work_dir is None:
        shutil.rmtree(work_dir, ignore_errors=True)
    print(
        json.dumps(
            {
                "snapshots": clock.snapshots,
                "train_seconds": round(train_seconds, 3),
                "first_batch_seconds": None
                if clock.first_batch_seconds is None
                else round(clock.first_batch_seconds, 3),
                "snapshot_pause_seconds": round(clock.paused, 3),
                "careamics_version": careamics.__version__,
                "torch_version": torch.__version__,
                "torch_threads": torch.get_num_threads(),
            }
        )
    )


if __name__ == "__main__":
    main()
