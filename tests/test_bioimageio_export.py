"""bioimage.io export: the package validates, passes bioimageio.core's own test without network,
runs without napari-noise2same installed, and denoises as our predictor does."""

import dataclasses
import io
import json
import os
import socket
import subprocess
import sys
import textwrap
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip(
    "bioimageio.core", reason="bioimage.io export needs the optional extra: pip install 'napari-noise2same[bioimageio]'"
)

import bioimageio.core
from bioimageio.core import create_prediction_pipeline
from bioimageio.core.digest_spec import get_test_input_sample
from bioimageio.spec import load_description
from bioimageio.spec.model.v0_5 import ModelDescr
from PIL import Image

from napari_noise2same.engine import TrainConfig, Trainer, TrainingData
from napari_noise2same.errors import AxesError, ImageError, ModelFileError, Noise2SameError
from napari_noise2same.export import bioimageio as bioimageio_export
from napari_noise2same.export import consumer_check, export_bioimageio
from napari_noise2same.export.bioimageio import EXTRA_HINT, HALO, min_input_size
from napari_noise2same.export.format_version import TARGET_FORMAT, read_yaml, target_format_problems, to_target_format

from .engine.helpers import random_model


@contextmanager
def offline():
    """Refuse (and record) every attempt to reach the network, as on a machine without one."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args[:2])
        raise OSError("network disabled by the test")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket, "getaddrinfo", refuse)
        mp.setattr(socket, "create_connection", refuse)
        mp.setattr(socket.socket, "connect", refuse)
        mp.setattr(socket.socket, "connect_ex", refuse)
        yield attempts


def _report(summary) -> str:
    return "\n".join(f"{d.status}: {d.name}: {[e.msg for e in d.errors]}" for d in summary.details)


def _members(path) -> dict:
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def _npy(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(data))


@pytest.fixture(scope="module")
def model2d(noisy_pair):
    torch.set_num_threads(2)
    data = TrainingData.from_arrays([noisy_pair[0]], "YX", patch_size=32, val_fraction=0.1)
    trainer = Trainer(
        data, TrainConfig(preset="tiny", patch_size=32, batch_size=4, lambda_inv=2.0, seed=0), device="cpu"
    )
    trainer.train(max_steps=3)
    return trainer.to_model(diagnose=False)


@pytest.fixture(scope="module")
def package2d(model2d, tmp_path_factory):
    """The model saved as cells_v2.n2s and exported from that file with every default, offline."""
    folder = tmp_path_factory.mktemp("bioimageio")
    model2d.save(folder / "cells_v2.n2s")
    messages = []
    with offline() as attempts:
        path = export_bioimageio(folder / "cells_v2.n2s", folder / "cells.zip", progress=messages.append)
    assert attempts == []
    return path, messages


def test_package_validates_and_passes_bioimageio_test_offline(package2d):
    path, messages = package2d
    with offline() as attempts:
        descr = load_description(path, perform_io_checks=True)
        assert isinstance(descr, ModelDescr), descr.validation_summary.format()
        assert descr.validation_summary.status == "valid-format"
        summary = bioimageio.core.test_model(path)
    assert summary.status == "passed", _report(summary)
    passed = {d.name for d in summary.details if d.status == "passed"}
    for weights in ("pytorch_state_dict", "torchscript", "onnx"):  # the testing extra has the onnx one
        assert f"Reproduce test outputs from test inputs ({weights})" in passed
        # several input sizes and batch sizes: the TorchScript module is not tied to one shape
        assert sum(weights in name and "inference for inputs" in name for name in passed) == 6
    assert attempts == [], f"tried to reach the network: {attempts}"
    assert messages[-1] == f"writing {path}" and len(messages) >= 5


def test_package_describes_the_model(package2d, model2d):
    path, _ = package2d
    files = _members(path)
    assert {
        "rdf.yaml",
        "README.md",
        "cover.png",
        "noise2same_unet.py",
        "weights.pt",
        "weights_torchscript.pt",
        "weights.onnx",
        "test_input.npy",
        "test_output.npy",
        "sample_input.tif",
        "sample_output.tif",
    } <= set(files)
    descr = load_description(path)
    assert descr.name == "Noise2Same cells_v2" and [a.name for a in descr.authors] == ["napari-noise2same user"]
    assert str(descr.license) == "BSD-3-Clause" and str(descr.cite[0].doi) == "10.48550/arXiv.2010.11971"
    assert {"denoising", "2d", "pytorch", "unet"} <= set(descr.tags)
    (ipt,), (out,) = descr.inputs, descr.outputs
    assert [str(a.id) for a in ipt.axes] == ["batch", "channel", "y", "x"]
    # any size from 2 x halo + 1 on: the network pads to its multiple of 4 itself
    assert [(a.size.min, a.size.step) for a in ipt.axes[2:]] == [(2 * HALO + 1, 1)] * 2
    assert [a.halo for a in out.axes[2:]] == [HALO, HALO]
    # the normalisation is inside the network: only dtype conversions around it
    assert {p.id for p in ipt.preprocessing} | {p.id for p in out.postprocessing} == {"ensure_dtype"}
    arch = descr.weights.pytorch_state_dict.architecture
    assert arch.callable == "Noise2SameUNet" and arch.kwargs == {"dims": 2, "channels": 1, "base_width": 16}
    assert descr.weights.torchscript.parent == "pytorch_state_dict"
    assert descr.weights.onnx.parent == "pytorch_state_dict" and descr.weights.onnx.opset_version >= 15
    readme = files["README.md"].decode()
    for text in (
        "Noise2Same: Optimizing A Self-Supervised Bound",
        "## Validation",
        "| training steps | 3 |",
        "| lambda_inv | 2.0 |",
        "| mask percent | 0.5 % |",
        "| structured mask | off: the noise looks independent between pixels",
        "preset `tiny`",
    ):
        assert text in readme
    cover = Image.open(io.BytesIO(files["cover.png"]))
    assert cover.size == (512, 256)
    left, right = np.asarray(cover)[:, :256], np.asarray(cover)[:, 256:]
    assert right[20:].std() < left[20:].std()  # the denoised half is smoother than the noisy one


def _rdf(path) -> dict:
    return read_yaml(_members(path)["rdf.yaml"].decode())


def test_rdf_is_written_in_the_oldest_format_that_holds_it(package2d):
    """Model format 0.5.3: covers and documentation as plain relative paths (bioimageio.spec
    0.5.10, what CAREamics 0.3.0 installs, refuses the newer {source, sha256} form) and no
    weights comments (newer than 0.5.3); the newest release reads it all the same."""
    path, messages = package2d
    rdf = _rdf(path)
    assert rdf["format_version"] == TARGET_FORMAT == "0.5.3"
    assert rdf["covers"] == ["cover.png"] and rdf["documentation"] == "README.md"
    assert set(rdf["weights"]) == {"pytorch_state_dict", "torchscript", "onnx"}
    assert not any("comment" in entry for entry in rdf["weights"].values())
    assert target_format_problems(rdf) == []
    assert any(f"model format {TARGET_FORMAT}" in m for m in messages)
    descr = load_description(path, perform_io_checks=True)
    assert descr.validation_summary.status == "valid-format"
    assert [str(c.source) for c in descr.covers] == ["cover.png"] and str(descr.documentation.source) == "README.md"


def test_target_format_conversion_and_its_check():
    newest = {
        "format_version": "0.5.12",
        "covers": [{"source": "cover.png", "sha256": "ab"}],
        "documentation": {"source": "README.md", "sha256": "cd"},
        "weights": {"onnx": {"source": "weights.onnx", "comment": "exported"}},
    }
    problems = target_format_problems(newest)
    assert len(problems) == 4 and problems[0] == "format_version is '0.5.12', not '0.5.3'"
    assert any(p.startswith("covers[0] must be a plain relative path") for p in problems)
    assert any(p.startswith("documentation must be a plain relative path") for p in problems)
    assert "weights.onnx.comment is newer than model format 0.5.3" in problems
    converted = to_target_format(newest)
    assert converted["covers"] == ["cover.png"] and converted["documentation"] == "README.md"
    assert target_format_problems(converted) == ["weights.onnx.comment is newer than model format 0.5.3"]
    assert newest["format_version"] == "0.5.12"  # the input is not changed


def test_a_package_older_consumers_would_refuse_is_caught_before_export_finishes(monkeypatch, tmp_path):
    """Were the description still in the newest form (the export before 0.5.3), the export stops
    with the reason, and no package is written."""
    monkeypatch.setattr(bioimageio_export, "to_target_format", lambda rdf: rdf)
    with pytest.raises(RuntimeError) as info:
        export_bioimageio(random_model(), tmp_path / "m.zip")
    assert "does not fit bioimage.io model format 0.5.3" in str(info.value)
    assert "covers[0] must be a plain relative path" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_test_output_is_our_prediction(package2d, model2d):
    files = _members(package2d[0])
    x, y = _npy(files["test_input.npy"]), _npy(files["test_output.npy"])
    assert x.shape == y.shape == (1, 1, 256, 256) and x.dtype == y.dtype == np.float32
    ours = model2d.predict(x[0], "CYX")
    np.testing.assert_allclose(y[0], ours, atol=1e-4 * float(x.std()), rtol=0)
    assert np.abs(y - x).mean() > 0.1 * x.std()  # the network did denoise: not an identity


def test_bioimageio_predict_takes_any_size(package2d, model2d):
    """bioimage.io's own predict on an image whose sides are not multiples of 4.  It mirrors a halo
    around the image first, so the network's per-image statistics include the mirrored borders:
    close to our predictor, not equal (0.4 % of the image's std for a trained model, docs/bioimageio.md;
    this 3-step model follows the statistics less well)."""
    image = _npy(_members(package2d[0])["test_input.npy"])[:, :, 3:253, 1:254]
    out = bioimageio.core.predict(model=load_description(package2d[0]), inputs=image)
    out = out.members["output"].data.to_numpy()
    assert out.shape == image.shape == (1, 1, 250, 253)
    diff = np.abs(out[0, 0] - model2d.predict(image[0, 0], "YX")) / image.std()
    assert diff.mean() < 0.05 and diff[HALO:-HALO, HALO:-HALO].max() < 0.1


def test_architecture_and_torchscript_run_without_our_package(package2d, tmp_path):
    """A fresh interpreter where napari_noise2same cannot be imported loads both weight formats."""
    with zipfile.ZipFile(package2d[0]) as z:
        z.extractall(tmp_path)
    script = textwrap.dedent("""
        import importlib.util, json, sys
        sys.modules["napari_noise2same"] = None  # importing it now fails
        import numpy as np, torch
        spec = importlib.util.spec_from_file_location("arch", "noise2same_unet.py")
        arch = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(arch)
        net = arch.Noise2SameUNet(**json.loads(sys.argv[1])).eval()
        net.load_state_dict(torch.load("weights.pt", weights_only=True), strict=True)
        scripted = torch.jit.load("weights_torchscript.pt").eval()
        x = torch.from_numpy(np.load("test_input.npy"))
        expected = np.load("test_output.npy")
        with torch.no_grad():
            eager = net(x).numpy()
            other = x[:, :, 4:65, 7:100] * 3 + 7  # odd sides (padded inside), another intensity scale
            pair = (net(other), scripted(other))
            again = scripted(x).numpy()
        tol = 1e-4 * float(x.std())
        print(json.dumps({"state_dict": float(np.abs(eager - expected).max()),
                          "torchscript": float(np.abs(again - expected).max()),
                          "other_size": float((pair[0] - pair[1]).abs().max()),
                          "other_shape": list(pair[1].shape), "tol": tol}))
    """)
    kwargs = json.dumps({"dims": 2, "channels": 1, "base_width": 16})
    done = subprocess.run(
        [sys.executable, "-I", "-c", script, kwargs], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    r = json.loads(done.stdout.strip().splitlines()[-1])
    assert r["state_dict"] <= r["tol"] and r["torchscript"] <= r["tol"]
    assert r["other_shape"] == [1, 1, 61, 93] and r["other_size"] <= 3 * r["tol"]


def _export_and_run(model, target):
    """Export ``model``, check the package validates, and run its test input through bioimage.io's
    prediction pipeline (TorchScript weights) as test_model does: (path, description, result)."""
    path = export_bioimageio(model, target)
    descr = load_description(path, perform_io_checks=True)
    assert isinstance(descr, ModelDescr) and descr.validation_summary.status == "valid-format"
    with create_prediction_pipeline(descr, weight_format="torchscript") as pipeline:
        result = pipeline.predict_sample_without_blocking(
            get_test_input_sample(descr), skip_input_padding=True, skip_output_cropping=True
        )
    return path, descr, result


def test_3d_model_exports_with_a_synthetic_volume(tmp_path):
    """A 3D package validates, and bioimage.io's pipeline (as test_model runs it; the full
    test_model of a 3D package takes 15 s here) reproduces its test output from TorchScript."""
    model = random_model(dims=3)
    model.summary = {"steps": 10, "lambda_inv": 2.0}
    with offline() as attempts:
        path, descr, result = _export_and_run(model, tmp_path / "volume.zip")
    assert attempts == []
    files = _members(path)
    x, y = _npy(files["test_input.npy"]), _npy(files["test_output.npy"])
    assert x.shape == (1, 1, min_input_size(), 64, 64)
    np.testing.assert_allclose(result.members["output"].data.to_numpy(), y, atol=1e-4 * float(x.std()), rtol=0)
    np.testing.assert_allclose(y[0], model.predict(x[0], "CZYX"), atol=1e-4 * float(x.std()), rtol=0)
    assert [str(a.id) for a in descr.inputs[0].axes] == ["batch", "channel", "z", "y", "x"] and "3d" in descr.tags
    assert descr.weights.pytorch_state_dict.architecture.kwargs["dims"] == 3


def test_one_network_per_channel_exports_and_runs_from_torchscript(tmp_path):
    """Independent channels (grouped convolutions) in a package: the architecture takes the
    groups, and bioimage.io's pipeline reproduces the test output."""
    model = random_model(dims=2, channels=2, independent=True)
    model.summary = {"steps": 10, "lambda_inv": 2.0}
    with offline():
        path, descr, result = _export_and_run(model, tmp_path / "two.zip")
    files = _members(path)
    x, y = _npy(files["test_input.npy"]), _npy(files["test_output.npy"])
    assert x.shape[:2] == (1, 2)
    np.testing.assert_allclose(result.members["output"].data.to_numpy(), y, atol=1e-4 * float(x.std()), rtol=0)
    assert descr.weights.pytorch_state_dict.architecture.kwargs["groups"] == 2
    assert "one network per channel" in descr.config.bioimageio.architecture_description


def test_sample_name_authors_and_pixel_sizes(model2d, tmp_path):
    """A user's time series: its first frame, centre-cropped to at most 256 px, is the test input."""
    rng = np.random.default_rng(5)
    series = (rng.normal(100, 10, (2, 70, 300)) + np.arange(2)[:, None, None] * 50).astype(np.uint16)
    model = dataclasses.replace(model2d, summary={**model2d.summary, "pixel_size": {"Y": 0.2, "X": 0.25}, "unit": "µm"})
    path = export_bioimageio(
        model,
        tmp_path / "mine.zip",
        sample=series,
        sample_axes="TYX",
        name="My denoiser (v2)",
        authors=["Ada Lovelace", "Alan Turing"],
    )
    descr = load_description(path)
    assert descr.name == "My denoiser (v2)" and [a.name for a in descr.authors] == ["Ada Lovelace", "Alan Turing"]
    x = _npy(_members(path)["test_input.npy"])
    np.testing.assert_array_equal(x[0, 0], series[0, :, 22:278].astype(np.float32))
    y_axis, x_axis = descr.inputs[0].axes[2:]
    assert (y_axis.unit, x_axis.unit) == ("micrometer", "micrometer")
    assert (y_axis.scale, x_axis.scale) == (pytest.approx(0.2, rel=1e-12), 0.25)


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"output": "missing/m.zip"}, Noise2SameError, "does not exist; create it"),
        ({"output": "m.n2s"}, Noise2SameError, "not a .zip path"),
        ({"sample": np.ones((2, 64, 64)), "sample_axes": "CYX"}, ImageError, "expects 1 channel(s)"),
        ({"sample": np.random.default_rng(0).normal(size=(48, 60))}, ImageError, "at least 49"),
        ({"sample": np.ones((64, 64)), "sample_axes": "QX"}, AxesError, "use only the letters"),
        ({"sample": np.ones((3, 3, 64, 64))}, ImageError, "pass sample_axes"),
        ({"name": "n2s"}, Noise2SameError, "5 to 128 letters"),
        ({"authors": ["a/b"]}, Noise2SameError, "without '/'"),
        ({"model": "nowhere.n2s"}, ModelFileError, "does not exist"),
    ],
)
def test_user_mistakes_give_one_line_with_the_fix(kwargs, error, words, tmp_path):
    kwargs = {"model": random_model(), "output": "m.zip", **kwargs}
    for key in ("model", "output"):
        if isinstance(kwargs[key], str):
            kwargs[key] = tmp_path / kwargs[key]
    model, output = kwargs.pop("model"), kwargs.pop("output")
    with pytest.raises(error) as info:
        export_bioimageio(model, output, **kwargs)
    assert words in str(info.value) and "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_missing_extra_names_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "bioimageio.spec", None)
    with pytest.raises(Noise2SameError) as info:
        export_bioimageio(random_model(), tmp_path / "m.zip")
    assert str(info.value) == EXTRA_HINT


def test_interrupted_export_keeps_the_old_package(monkeypatch, tmp_path):
    output = tmp_path / "m.zip"
    output.write_bytes(b"an older package")

    def copy_half_then_stop(source, target):
        target.write(source.read_bytes()[:1000])
        raise KeyboardInterrupt

    monkeypatch.setattr(bioimageio_export, "_copy_file", copy_half_then_stop)
    with pytest.raises(KeyboardInterrupt):
        export_bioimageio(random_model(), output)
    assert output.read_bytes() == b"an older package"
    assert [p.name for p in tmp_path.iterdir()] == ["m.zip"]  # no half-written temporary file left


CONSUMERS = [p for p in os.environ.get("NOISE2SAME_BIOIMAGEIO_CONSUMERS", "").split(os.pathsep) if p]


@pytest.mark.skipif(
    not CONSUMERS,
    reason="opt-in: NOISE2SAME_BIOIMAGEIO_CONSUMERS=PYTHON[:PYTHON...] names other environments' bioimage.io "
    "(benchmarks/bioimageio_consumers.py makes them)",
)
@pytest.mark.parametrize("python", CONSUMERS)
def test_other_releases_load_test_and_run_the_package(package2d, python):
    """Another environment's bioimage.io (e.g. bioimageio.core 0.10.4, spec 0.5.10): the package
    loads, test_model passes for every weight format, and a prediction has the input's shape."""
    check = [python, "-I", str(Path(consumer_check.__file__)), str(package2d[0])]
    done = subprocess.run(check, capture_output=True, text=True, timeout=600)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result.get("loaded_as") == "ModelDescr", result
    if "core" in result:
        assert result["test_model"] == dict.fromkeys(("pytorch_state_dict", "torchscript", "onnx"), "passed"), result
        assert result["predict_shape"]["output"] == result["predict_shape"]["input"]
