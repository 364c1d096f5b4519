"""A long run saves checkpoints: after SIGKILL the file loads and --resume continues from it."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tifffile

from napari_noise2same.atomic import atomic_write
from napari_noise2same.cli import main
from napari_noise2same.engine import load_model


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_checkpoint_survives_sigkill_and_resumes(tmp_path, noisy_pair):
    image = tmp_path / "cells.tif"
    tifffile.imwrite(image, noisy_pair[0])
    out = tmp_path / "model.n2s"
    cmd = [
        sys.executable,
        "-m",
        "napari_noise2same.cli",
        "train",
        str(image),
        "-o",
        str(out),
        "--preset",
        "tiny",
        "--patch-size",
        "32",
        "--batch-size",
        "4",
        "--max-seconds",
        "600",
        "--checkpoint-minutes",
        "0.01",
        "--seed",
        "0",
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "OMP_NUM_THREADS": "1"}
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (out.is_file() and load_model(out).summary["steps"] >= 5):
            time.sleep(0.2)
            assert proc.poll() is None, proc.stderr.read().decode()
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    saved = load_model(out)  # whatever instant the kill came, the file is whole
    assert saved.summary["checkpoint"] and saved.training_state is not None
    steps = saved.summary["steps"]
    assert (
        main(["train", str(image), "-o", str(out), "--resume", str(out), "--steps", "3", "--checkpoint-minutes", "0"])
        == 0
    )
    resumed = load_model(out)
    assert resumed.summary["total_steps"] == steps + 3 and resumed.training_state is None
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")]  # no partial file left


def test_a_temporary_file_of_a_killed_writer_is_removed_by_the_next_write(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    orphan = tmp_path / f".model.n2s.{dead.pid}.abc123.part"
    orphan.write_bytes(b"half a model")
    mine = tmp_path / f".model.n2s.{os.getpid()}.xyz.part"  # a writer still running (this process)
    mine.write_bytes(b"in progress")
    atomic_write(tmp_path / "model.n2s", lambda f: f.write(b"whole"))
    assert not orphan.exists() and mine.exists()
    assert (tmp_path / "model.n2s").read_bytes() == b"whole"


def test_resuming_a_checkpoint_restores_the_optimiser(tmp_path, noisy_pair):
    from napari_noise2same.engine import TrainConfig, Trainer, TrainingData

    data = TrainingData.from_arrays([noisy_pair[0]], "YX", patch_size=32, val_fraction=0.1)
    trainer = Trainer(data, TrainConfig(preset="tiny", batch_size=4, seed=0), device="cpu")
    trainer.train(max_steps=4)
    trainer.save_checkpoint(tmp_path / "ck.n2s")
    model = load_model(tmp_path / "ck.n2s")
    again = Trainer(data, TrainConfig(preset="tiny", batch_size=4, seed=0), device="cpu", model=model)
    a, b = trainer.optimizer.state_dict()["state"], again.optimizer.state_dict()["state"]
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key]["exp_avg_sq"].numpy(), b[key]["exp_avg_sq"].numpy())
