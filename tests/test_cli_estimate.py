"""--estimate and --noise-model on the command line: recorded in the model file, shown by info,
used by predict; mistakes refused in one line."""

import contextlib
import json

import numpy as np
import pytest
import tifffile

from napari_noise2same.cli import main
from napari_noise2same.engine import load_model
from napari_noise2same.engine.noise_calibration import NoiseModel, PoissonGaussian, write_noise_model
from napari_noise2same.examples import psnr
from tests.engine.helpers import random_model

TRAIN = ["--steps", "60", "--preset", "tiny", "--patch-size", "32", "--batch-size", "4", "--seed", "0"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory, noisy_pair):
    folder = tmp_path_factory.mktemp("estimate")
    tifffile.imwrite(folder / "cells.tif", noisy_pair[0])
    write_noise_model(folder / "noise.json", NoiseModel([PoissonGaussian(1e-9, 0.0, 0.15)]))
    assert main(["train", str(folder / "cells.tif"), "-o", str(folder / "post.n2s"), "--estimate", "posterior",
                 "--noise-model", str(folder / "noise.json"), *TRAIN]) == 0  # fmt: skip
    random_model().save(folder / "old.n2s")
    return folder


def test_the_estimate_and_the_noise_model_are_recorded_and_shown(folder, capsys):
    summary = load_model(folder / "post.n2s").summary
    assert summary["estimate"]["estimate"] == "posterior" and summary["estimate"]["chosen_by"] == "hand"
    assert "sure_gain_db" in summary["estimate"] and summary["estimate"]["passes"] == 9
    assert summary["noise_model"]["channels"][0]["read_noise"] == pytest.approx(0.15)
    capsys.readouterr()
    assert main(["info", str(folder / "post.n2s")]) == 0
    shown = capsys.readouterr().out
    assert "estimate    the posterior mean" in shown and "chosen by hand" in shown
    assert "noise model calibration: noise.json" in shown and "read noise 0.15" in shown
    assert main(["info", str(folder / "old.n2s")]) == 0
    assert "estimate    the network's output" in capsys.readouterr().out


def test_predict_takes_the_recorded_estimate_or_the_one_asked_for(folder, noisy_pair, capsys):
    noisy, clean = noisy_pair
    outputs = {}
    for name, extra in (("auto", []), ("n2s", ["--estimate", "n2s"])):
        out = folder / f"out_{name}"
        assert main(["predict", "-m", str(folder / "post.n2s"), str(folder / "cells.tif"), "-o", str(out), *extra]) == 0
        outputs[name] = tifffile.imread(out / "cells_denoised.tif")
        said = capsys.readouterr().err
        assert ("estimate: the posterior mean" in said) == (name == "auto")
    assert not np.allclose(outputs["auto"], outputs["n2s"])
    for image in outputs.values():
        assert psnr(clean, image, 1.0) > psnr(clean, noisy, 1.0) + 2


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--estimate", "posterior", "--engine", "onnx"], "runs in PyTorch"),
        (["--estimate", "posterior", "--tta"], "drop --tta"),
        (["--estimate", "best"], "invalid choice"),
        (["--noise-model", "nothere.json"], "does not exist"),
        (["--noise-model", "bad.json"], "not JSON"),
    ],
)
def test_mistakes_are_refused_in_one_line(folder, capsys, monkeypatch, argv, expected):
    monkeypatch.chdir(folder)
    (folder / "bad.json").write_text("{not json")
    with pytest.raises(SystemExit) if "best" in argv else contextlib.nullcontext():
        assert main(["predict", "-m", "post.n2s", "cells.tif", "-o", "out_bad", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err and expected in err[-1] and not any("Traceback" in line for line in err), err


def test_a_model_without_a_spread_head_is_refused_for_the_posterior(folder, capsys, monkeypatch):
    monkeypatch.chdir(folder)
    assert main(["predict", "-m", "old.n2s", "cells.tif", "-o", "out_old", "--estimate", "posterior"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "no spread head" in err[-1] and "n2s" in err[-1]


def test_a_noise_model_with_the_wrong_channels_is_refused(folder, capsys, monkeypatch):
    monkeypatch.chdir(folder)
    two = NoiseModel([PoissonGaussian(1.0, 0.0, 1.0), PoissonGaussian(1.0, 0.0, 1.0)])
    write_noise_model(folder / "two.json", two)
    assert json.loads((folder / "two.json").read_text())["channels"][1]["gain"] == 1.0
    code = main(["predict", "-m", "post.n2s", "cells.tif", "-o", "out_two", "--noise-model", "two.json"])
    assert code == 2 and "2 channels" in capsys.readouterr().err


def test_the_posterior_is_refused_for_zarr_outputs_in_one_line(folder, capsys, monkeypatch):
    monkeypatch.chdir(folder)
    assert main(["predict", "-m", "post.n2s", "cells.tif", "-o", "out.zarr", "--estimate", "posterior"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "needs whole images" in err[-1] and not any("Traceback" in line for line in err)
    assert main(["predict", "-m", "post.n2s", "cells.tif", "-o", "auto.zarr"]) == 0  # auto: the network's output
