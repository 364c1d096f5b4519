"""``noise2same train`` on a folder of files, with validation files, per-channel networks and
augmentation switched off; ``info`` says which."""

import numpy as np
import pytest
import tifffile

from napari_noise2same.cli import main
from napari_noise2same.engine import load_model

FAST = ["--steps", "4", "--preset", "tiny", "--patch-size", "32", "--batch-size", "2", "--seed", "0"]


def _write(path, shape, seed, axes):
    data = np.random.default_rng(seed).normal(100, 10, shape).astype(np.float32)
    tifffile.imwrite(path, data, imagej=True, metadata={"axes": axes})
    return path


def test_a_folder_of_four_files_trains_one_model(tmp_path, capsys):
    folder = tmp_path / "experiment"
    folder.mkdir()
    for i, shape in enumerate([(64, 64), (48, 80), (2, 40, 40), (72, 56)]):
        _write(folder / f"f{i}.tif", shape, i, "TYX" if len(shape) == 3 else "YX")
    model = tmp_path / "m.n2s"
    assert main(["train", str(folder), "-o", str(model), *FAST]) == 0
    assert "on 4 image(s)" in capsys.readouterr().err
    assert len(load_model(model).summary["trained_on"]) == 4


def test_validation_files_independent_channels_and_no_augmentation(tmp_path, capsys):
    train = _write(tmp_path / "train.tif", (2, 64, 64), 0, "CYX")
    val = _write(tmp_path / "val.tif", (2, 48, 48), 1, "CYX")
    model = tmp_path / "m.n2s"
    argv = ["train", str(train), "--val", str(val), "--channels", "independent", "--no-augment", "-o", str(model)]
    assert main([*argv, *FAST]) == 0
    assert "validated on 1 image(s)" in capsys.readouterr().err
    m = load_model(model)
    assert m.channel_mode == "independent" and m.train_config.augment is False
    assert m.summary["validated_on"] == [[1, 2, 48, 48]] and m.summary["final_val_loss"] is not None
    assert main(["info", str(model)]) == 0
    info = capsys.readouterr().out
    assert "2 channels, one network each (independent)" in info
    assert "separate images" in info and "no augmentation" in info


def test_validation_with_other_channels_is_one_line(tmp_path, capsys):
    train = _write(tmp_path / "train.tif", (2, 64, 64), 0, "CYX")
    val = _write(tmp_path / "val.tif", (64, 64), 1, "YX")
    assert main(["train", str(train), "--val", str(val), "-o", str(tmp_path / "m.n2s"), *FAST]) != 0
    err = capsys.readouterr().err.strip()
    assert "different channel counts" in err and "Traceback" not in err and len(err.splitlines()) == 1


def test_resume_keeps_the_channel_mode(tmp_path, capsys):
    train = _write(tmp_path / "train.tif", (2, 64, 64), 0, "CYX")
    model = tmp_path / "m.n2s"
    assert main(["train", str(train), "--channels", "independent", "-o", str(model), *FAST]) == 0
    again = ["train", str(train), "--resume", str(model), "--channels", "joint", "-o", str(tmp_path / "b.n2s")]
    assert main([*again, "--steps", "2"]) != 0
    assert "drop --channels" in capsys.readouterr().err


@pytest.mark.parametrize("flag, expected", [([], True), (["--no-augment"], False), (["--augment"], True)])
def test_the_augment_flag(tmp_path, flag, expected):
    train = _write(tmp_path / "train.tif", (64, 64), 0, "YX")
    model = tmp_path / "m.n2s"
    assert main(["train", str(train), "-o", str(model), *flag, *FAST]) == 0
    assert load_model(model).train_config.augment is expected


def test_files_beyond_the_memory_share_are_read_patch_by_patch(tmp_path, monkeypatch):
    from napari_noise2same import batch
    from napari_noise2same.engine import TrainConfig, Trainer, TrainingData
    from napari_noise2same.io import images

    paths = [_write(tmp_path / f"f{i}.tif", (2, 64, 64), i, "TYX") for i in range(3)]
    # room for one file in memory: the first is loaded, the others opened lazily
    monkeypatch.setattr(images, "lazy_threshold_bytes", lambda: 2 * 64 * 64 * 4)
    loaded = batch.read_training_inputs(paths)
    assert [type(f.data).__name__ for f in loaded] == ["ndarray", "TiffPages", "TiffPages"]
    assert all(type(f.data).__name__ == "TiffPages" for f in batch.read_training_inputs(paths, lazy=True))
    data = TrainingData.from_arrays([f.data for f in loaded], [f.axes for f in loaded], patch_size=32)
    eager = TrainingData.from_arrays([np.asarray(f.data[:]) for f in loaded], "TYX", patch_size=32)
    for a, b in zip(data.sources, eager.sources, strict=True):  # the same statistics, read in parts
        np.testing.assert_allclose(a.mean, b.mean, rtol=1e-6)
        np.testing.assert_allclose(a.std, b.std, rtol=1e-5)
    trainer = Trainer(data, TrainConfig(preset="tiny", patch_size=32, batch_size=2, seed=0), device="cpu")
    trainer.train(max_steps=2)
    assert trainer.step == 2
