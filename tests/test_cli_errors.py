"""What a user sees on the command line for bad input: one line, no traceback, a non-zero exit."""

import numpy as np
import pytest
import tifffile
from PIL import Image

from napari_noise2same.cli import main
from tests.engine.helpers import random_model


@pytest.fixture
def workdir(tmp_path, monkeypatch, noisy_pair):
    monkeypatch.chdir(tmp_path)
    tifffile.imwrite(tmp_path / "good.tif", noisy_pair[0])
    random_model().save(tmp_path / "m2d.n2s")
    random_model(dims=3).save(tmp_path / "m3d.n2s")
    (tmp_path / "text.tif").write_text("this is not an image\n" * 50)
    data = (tmp_path / "good.tif").read_bytes()
    (tmp_path / "cut.tif").write_bytes(data[: len(data) // 3])
    (tmp_path / "empty").mkdir()
    (tmp_path / "afile").write_text("x")
    nan = noisy_pair[0].copy()
    nan[5, 5] = np.nan
    tifffile.imwrite(tmp_path / "nan.tif", nan)
    tifffile.imwrite(tmp_path / "flat.tif", np.full((64, 64), 7, np.uint16))
    Image.fromarray((np.random.default_rng(0).random((40, 40, 3)) * 255).astype(np.uint8)).save(tmp_path / "rgb.png")
    (tmp_path / "junk.n2s").write_bytes(b"\x00junk" * 99)
    return tmp_path


TRAIN = ["--steps", "1", "--patch-size", "16", "--batch-size", "2"]
CASES = {
    "not an image": (["train", "text.tif", "-o", "m.n2s", *TRAIN], "not a valid TIFF"),
    "truncated TIFF": (["predict", "-m", "m2d.n2s", "cut.tif", "-o", "out"], "cut.tif"),
    "missing path": (["predict", "-m", "m2d.n2s", "nothere.tif", "-o", "out"], "does not exist"),
    "empty folder": (["train", "empty", "-o", "m.n2s", *TRAIN], "holds no"),
    # the inputs are checked before the model is read: the first mistake told is the inputs'
    "bfloat16 in ONNX Runtime": (
        ["predict", "-m", "m2d.n2s", "good.tif", "-o", "out", "--engine", "onnx", "--precision", "bfloat16"],
        "--engine torch",
    ),
    "predict on an empty folder": (["predict", "-m", "junk.n2s", "empty", "-o", "out"], "holds no"),
    "output under a file": (["predict", "-m", "m2d.n2s", "good.tif", "-o", "afile/out"], "afile"),
    "model path is a folder": (["train", "good.tif", "-o", "empty", *TRAIN], "folder"),
    "axes for another ndim": (["train", "good.tif", "-o", "m.n2s", "--axes", "ZYX", *TRAIN], "2"),
    "repeated axes": (["predict", "-m", "m2d.n2s", "good.tif", "-o", "out", "--axes", "XX"], "repeat"),
    "NaN": (["train", "nan.tif", "-o", "m.n2s", *TRAIN], "NaN"),
    "constant": (["predict", "-m", "m2d.n2s", "flat.tif", "-o", "out"], "constant"),
    "RGB for a 1-channel model": (["predict", "-m", "m2d.n2s", "rgb.png", "-o", "out"], "channel"),
    "random-bytes model": (["predict", "-m", "junk.n2s", "good.tif", "-o", "out"], "junk.n2s"),
    "3D model on a 2D image": (["predict", "-m", "m3d.n2s", "good.tif", "-o", "out"], "Z"),
    "bad lambda": (["train", "good.tif", "-o", "m.n2s", "--lambda-inv", "big", *TRAIN], "auto"),
    "zero batch": (["train", "good.tif", "-o", "m.n2s", "--steps", "1", "--batch-size", "0"], "batch size"),
    "negative batch": (["train", "good.tif", "-o", "m.n2s", "--steps", "1", "--batch-size", "-1"], "at least 1"),
    "batch beyond memory": (
        ["train", "good.tif", "-o", "m.n2s", "--steps", "1", "--preset", "paper", "--batch-size", "4000"],
        "use a batch size of",
    ),
    "huge patch": (["train", "good.tif", "-o", "m.n2s", "--steps", "1", "--patch-size", "100000"], "patch size"),
    "zero steps": (["train", "good.tif", "-o", "m.n2s", "--steps", "0"], "number of steps"),
    "negative time": (["train", "good.tif", "-o", "m.n2s", "--max-seconds", "-1"], "training time"),
    "negative learning rate": (["train", "good.tif", "-o", "m.n2s", *TRAIN, "--learning-rate", "-1"], "learning rate"),
    "zero learning rate": (["train", "good.tif", "-o", "m.n2s", *TRAIN, "--learning-rate", "0"], "learning rate"),
    "absurd lambda": (["train", "good.tif", "-o", "m.n2s", *TRAIN, "--lambda-inv", "1e12"], "at most 100"),
    "negative seed": (["train", "good.tif", "-o", "m.n2s", *TRAIN, "--seed", "-1"], "seed"),
    "absurd mask": (["train", "good.tif", "-o", "m.n2s", *TRAIN, "--mask-percent", "1e9"], "mask percent"),
    "even structured mask": (["train", "good.tif", "-o", "m.n2s", *TRAIN, "--struct-mask", "4x4"], "odd sides"),
    "unknown structured mask": (["train", "good.tif", "-o", "m.n2s", *TRAIN, "--struct-mask", "line"], "HxW"),
    "structured mask with donut": (
        ["train", "good.tif", "-o", "m.n2s", *TRAIN, "--struct-mask", "1x3", "--replacement", "donut"],
        "gaussian replacement",
    ),
    "negative checkpoint interval": (
        ["train", "good.tif", "-o", "m.n2s", *TRAIN, "--checkpoint-minutes", "-1"],
        "checkpoint",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_one_clear_line_and_a_nonzero_exit(workdir, capsys, case):
    argv, expected = CASES[case]
    with pytest.raises(SystemExit) if case == "bad lambda" else _nothing():
        code = main(argv)
        assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err and expected in err[-1], err
    assert err[-1].startswith("noise2same: error:") or err[-1].startswith("usage:") or "error:" in err[-1]
    assert not any("Traceback" in line for line in err)
    assert not (workdir / "m.n2s").exists()


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_output_never_overwrites_an_input(workdir, capsys, noisy_pair):
    tifffile.imwrite(workdir / "good_denoised.tif", noisy_pair[0])  # an input named like an output
    before = (workdir / "good_denoised.tif").read_bytes()
    code = main(["predict", "-m", "m2d.n2s", "good.tif", "good_denoised.tif", "-o", "."])
    assert code == 2 and "overwrite" in capsys.readouterr().err
    assert (workdir / "good_denoised.tif").read_bytes() == before
    assert (workdir / "good_denoised_denoised.tif").is_file()  # the other file went through


@pytest.mark.parametrize(
    "dtype", ["uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64", "int64", "float16", "float32", "float64"]
)
def test_every_numeric_type_is_denoised(workdir, dtype):
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else None
    x = np.random.default_rng(0).random((48, 40))
    x = (info.min + x * (float(info.max) - float(info.min))).astype(dtype) if info else x.astype(dtype)
    tifffile.imwrite(workdir / f"{dtype}.tif", x)
    assert main(["predict", "-m", "m2d.n2s", f"{dtype}.tif", "-o", "typed"]) == 0
    out = tifffile.imread(workdir / "typed" / f"{dtype}_denoised.tif")
    assert out.dtype == np.float32 and np.isfinite(out).all()
