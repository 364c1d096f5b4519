import numpy as np
import pytest
import tifffile

from napari_noise2same.cli import main


@pytest.fixture
def noisy_tiff(tmp_path, noisy_pair):
    noisy, _ = noisy_pair
    stack = np.stack([noisy, noisy[::-1]])  # TYX
    path = tmp_path / "cells.tif"
    tifffile.imwrite(path, stack, imagej=True, resolution=(1 / 0.2, 1 / 0.2), metadata={"axes": "TYX", "unit": "um"})
    return path


def test_train_predict_info_end_to_end(tmp_path, noisy_tiff, capsys):
    model = tmp_path / "model.n2s"
    args = [
        "train",
        str(noisy_tiff),
        "-o",
        str(model),
        "--steps",
        "20",
        "--preset",
        "tiny",
        "--patch-size",
        "32",
        "--batch-size",
        "4",
        "--seed",
        "0",
    ]
    assert main(args) == 0
    assert model.is_file() and "saved" in capsys.readouterr().out
    from napari_noise2same.engine import load_model

    summary = load_model(model).summary  # the training data's pixel size travels with the model
    assert summary["unit"] == "µm" and summary["pixel_size"] == pytest.approx({"Y": 0.2, "X": 0.2}, rel=1e-4)
    out_dir = tmp_path / "out"
    # the network's output (the posterior, which the model may record, is tested in test_cli_estimate.py)
    assert main(["predict", "-m", str(model), str(tmp_path / "*.tif"), "-o", str(out_dir), "--estimate", "n2s"]) == 0
    result = out_dir / "cells_denoised.tif"
    with tifffile.TiffFile(result) as tif:
        data = tif.asarray()
        assert tif.series[0].axes == "TYX" and data.shape == (2, 128, 128) and data.dtype == np.float32
        num, den = tif.pages[0].tags["XResolution"].value
        assert den / num == pytest.approx(0.2, rel=1e-4)
        assert tif.imagej_metadata["unit"] in ("micron", "um", "µm")
    bf16_dir = tmp_path / "bf16"  # in PyTorch under bfloat16 autocast: the same image within its rounding
    bf16_args = ["-o", str(bf16_dir), "--precision", "bfloat16", "--estimate", "n2s"]
    assert main(["predict", "-m", str(model), str(noisy_tiff), *bf16_args]) == 0
    bf16 = tifffile.imread(bf16_dir / "cells_denoised.tif")
    assert bf16.shape == data.shape and 0 < np.abs(bf16 - data).max() < 0.1 * data.std()
    assert main(["info", str(model)]) == 0
    info = capsys.readouterr().out
    assert "20 steps" in info and "D(f)" in info


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "missing.tif", "-o", "m.n2s", "--steps", "1"], "does not exist"),
        (["predict", "-m", "missing.n2s", "x.tif", "-o", "out"], "does not exist"),
        (["train", "{tiff}", "-o", "m.n2s", "--steps", "1", "--axes", "ZYX", "--dims", "2"], None),
        (["train", "{tiff}", "-o", "m.n2s", "--steps", "1", "--axes", "YYX"], "repeat"),
        (["train", "{tiff}", "-o", "nowhere/m.n2s", "--steps", "1"], "does not exist"),
    ],
)
def test_user_errors_are_one_line_without_traceback(tmp_path, noisy_tiff, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    argv = [a.replace("{tiff}", str(noisy_tiff)) for a in argv]
    code = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    if message is None:  # ZYX on a TYX file is a legal reading (Z as samples in 2D): it trains
        assert code == 0
        return
    assert code == 2
    assert err[-1].startswith("noise2same: error:") and message in err[-1]
    assert not any("Traceback" in line for line in err)


def test_predict_refuses_a_mismatched_model(tmp_path, noisy_tiff, capsys):
    model = tmp_path / "rgb.n2s"
    from tests.engine.helpers import random_model

    random_model(channels=3).save(model)
    assert main(["predict", "-m", str(model), str(noisy_tiff), "-o", str(tmp_path / "o")]) == 2
    assert "channel" in capsys.readouterr().err


def test_train_without_settings_uses_auto_and_says_what_it_chose(tmp_path, noisy_tiff, capsys):
    model = tmp_path / "auto.n2s"
    assert main(["train", str(noisy_tiff), "-o", str(model), "--steps", "2", "--patch-size", "32"]) == 0
    err = capsys.readouterr().err
    assert "'tiny' model" in err and "auto:" in err  # on the CPU
    from napari_noise2same.engine import load_model

    saved = load_model(model)
    assert saved.train_config.preset == "tiny" and saved.summary["auto"]["batch_size"] == 16
    assert saved.per_frame and not saved.summary.get("checkpoint") and not saved.train_config.keep_best
    assert main(["info", str(model)]) == 0
    out = capsys.readouterr().out
    assert "chosen by auto" in out and "each frame by its own" in out


def test_keep_best_is_asked_for_on_the_command_line(tmp_path, noisy_tiff):
    model = tmp_path / "best.n2s"
    argv = ["train", str(noisy_tiff), "-o", str(model), "--steps", "2", "--patch-size", "32", "--keep-best"]
    assert main(argv) == 0
    from napari_noise2same.engine import load_model

    assert load_model(model).train_config.keep_best


def test_struct_mask_is_recorded_and_shown(tmp_path, noisy_tiff, capsys):
    """A footprint given on the command line is used, saved in the model file and shown by info;
    white noise with the default (auto) gets none, and the command line says why."""
    from napari_noise2same.engine import load_model

    given, auto = tmp_path / "given.n2s", tmp_path / "auto.n2s"
    common = ["--steps", "2", "--patch-size", "32"]
    assert main(["train", str(noisy_tiff), "-o", str(given), *common, "--struct-mask", "1x5"]) == 0
    assert "structured mask: 1x5, as set" in capsys.readouterr().err
    assert main(["train", str(noisy_tiff), "-o", str(auto), *common]) == 0
    assert "structured mask: off: the noise looks independent" in capsys.readouterr().err
    saved = load_model(given)
    assert saved.train_config.struct_mask == "1x5" and saved.summary["struct_mask"]["struct_mask"] == "1x5"
    assert load_model(auto).train_config.struct_mask == "auto"
    assert main(["info", str(given)]) == 0
    assert "structured mask 1x5" in capsys.readouterr().out
    assert main(["info", str(auto)]) == 0
    assert "structured mask off: the noise looks independent" in capsys.readouterr().out
