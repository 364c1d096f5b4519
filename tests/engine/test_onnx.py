"""The network as ONNX: the same outputs as torch, files that carry it, and prediction without torch."""

import subprocess
import sys

import numpy as np
import pytest

from napari_noise2same.engine import PredictOptions, load_model
from napari_noise2same.engine.onnx_runner import STANDARD_DOMAINS, check_written_graph, open_session
from napari_noise2same.errors import ModelFileError

from .helpers import image, random_model

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")


@pytest.fixture(scope="module")
def models():
    """Untrained models (non-trivial BatchNorm statistics) with their ONNX networks attached."""
    return {
        key: random_model(dims=dims, channels=channels, independent=independent).with_onnx()
        for key, (dims, channels, independent) in {
            "2d": (2, 1, False),
            "3d": (3, 1, False),
            "rgb": (2, 3, False),
            "rgb-independent": (2, 3, True),
            "3d-independent": (3, 2, True),
        }.items()
    }


@pytest.mark.parametrize(
    "key, shape, axes, options",
    [
        ("2d", (101, 67), "YX", PredictOptions()),  # odd sizes: padded by the predictor
        ("2d", (2, 150, 130), "TYX", PredictOptions(tile_size=64, overlap=32)),  # tiled
        ("2d", (64, 64), "YX", PredictOptions(tta=True)),
        ("3d", (19, 45, 38), "ZYX", PredictOptions()),
        ("3d", (40, 70, 66), "ZYX", PredictOptions(tile_size=(24, 48, 48), overlap=(12, 24, 24))),
        ("rgb", (3, 57, 83), "CYX", PredictOptions()),
        ("rgb-independent", (3, 57, 83), "CYX", PredictOptions()),  # one network per channel
        ("3d-independent", (2, 19, 45, 38), "CZYX", PredictOptions()),
    ],
)
def test_onnx_runtime_gives_torchs_output(models, key, shape, axes, options):
    from dataclasses import replace

    model, x = models[key], image(shape)
    ours = model.predict(x, axes, replace(options, engine="onnx"))
    reference = model.predict(x, axes, replace(options, engine="torch"))
    assert model.runner(replace(options, engine="onnx")).engine == "onnx"
    # on the normalised scale (the input's std): within 1e-4
    assert np.abs(ours - reference).max() / x.std() < 1e-4


def test_the_model_file_carries_the_graph_and_loads_without_onnx_runtime(models, tmp_path, monkeypatch):
    path = tmp_path / "m.n2s"
    models["2d"].save(path)
    assert load_model(path).onnx == models["2d"].onnx
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if not installed: import fails
    model = load_model(path)
    assert model.onnx is not None and model.runner(PredictOptions()).engine == "torch"
    x = image((48, 40))
    np.testing.assert_array_equal(model.predict(x, "YX"), models["2d"].predict(x, "YX", PredictOptions(engine="torch")))


def test_the_onnx_engine_without_onnx_runtime_names_the_install(models, tmp_path, monkeypatch, capsys):
    import tifffile

    from napari_noise2same.cli import main

    models["2d"].save(tmp_path / "m.n2s")
    tifffile.imwrite(tmp_path / "x.tif", image((48, 40)))
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    code = main(
        [
            "predict",
            "-m",
            str(tmp_path / "m.n2s"),
            str(tmp_path / "x.tif"),
            "-o",
            str(tmp_path / "out"),
            "--engine",
            "onnx",
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "pip install 'napari-noise2same[onnx]'" in err[0] and "--engine torch" in err[0]


def test_a_graph_with_custom_operators_is_refused(models):
    import onnx

    graph = onnx.load_from_string(models["2d"].onnx)
    graph.graph.node[0].domain = "com.example.native"  # an operator from a native library
    graph.opset_import.append(onnx.helper.make_opsetid("com.example.native", 1))
    with pytest.raises(ModelFileError, match="custom operators"):
        open_session(graph.SerializeToString(), 2, 1)
    open_session(models["2d"].onnx, 2, 1)  # the exported one passes
    assert {n.domain for n in onnx.load_from_string(models["2d"].onnx).graph.node} <= set(STANDARD_DOMAINS)
    with pytest.raises(RuntimeError, match="outside the standard set"):  # and is refused when written
        check_written_graph(graph.SerializeToString())


@pytest.mark.parametrize(
    "damage, words",
    [
        (lambda blob: blob[: len(blob) // 2], "damaged ONNX network"),  # cut short
        (lambda blob: b"not a graph" + blob[11:], "damaged ONNX network"),
        ("3d", "not a 2D Noise2Same network"),  # another network's graph
    ],
)
def test_a_model_file_with_a_bad_graph_is_refused_with_one_line(models, tmp_path, capsys, damage, words):
    """The command line loads the graph with ONNX Runtime alone and refuses a bad one in one line."""
    import tifffile

    from napari_noise2same.cli import main

    model = models["2d"]
    saved = model.onnx
    model.onnx = models["3d"].onnx if damage == "3d" else damage(saved)
    try:
        model.save(tmp_path / "m.n2s")
    finally:
        model.onnx = saved
    tifffile.imwrite(tmp_path / "x.tif", image((48, 40)))
    code = main(["predict", "-m", str(tmp_path / "m.n2s"), str(tmp_path / "x.tif"), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and words in err[0], err
    assert not (tmp_path / "out" / "x_denoised.tif").exists()


def _imported_after(code: str, tmp_path) -> set:
    """The top-level packages a fresh interpreter has imported after running ``code``."""
    script = f"import sys\n{code}\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


def test_version_help_and_info_do_not_import_torch(models, tmp_path):
    models["2d"].save(tmp_path / "m.n2s")
    for argv in (["--version"], ["--help"], ["train", "--help"], ["predict", "--help"], ["info", "m.n2s"]):
        code = f"from napari_noise2same.cli import main\ntry:\n    main({argv!r})\nexcept SystemExit:\n    pass"
        imported = _imported_after(code, tmp_path)
        assert "torch" not in imported, argv
        if argv[-1] == "--help":  # help reads the defaults, none of which needs numpy
            assert "numpy" not in imported, argv


def test_predict_with_onnx_runtime_imports_neither_torch_nor_onnx(models, tmp_path):
    import tifffile

    models["2d"].save(tmp_path / "m.n2s")
    x = image((2, 60, 52))
    tifffile.imwrite(tmp_path / "x.tif", x, imagej=True, metadata={"axes": "TYX"})
    code = (
        "from napari_noise2same.cli import main\n"
        "assert main(['predict', '-m', 'm.n2s', 'x.tif', '-o', 'out', '--engine', 'onnx']) == 0"
    )
    imported = _imported_after(code, tmp_path)
    assert "onnxruntime" in imported and "torch" not in imported
    assert "onnx" not in imported  # the graph is checked by ONNX Runtime's own loading (0.55 s saved)
    out = tifffile.imread(tmp_path / "out" / "x_denoised.tif")
    reference = models["2d"].predict(x, "TYX", PredictOptions(engine="torch"))
    assert np.abs(out - reference).max() / x.std() < 1e-4


def test_a_trained_network_exports(noisy_pair):
    """Training leaves the weights channels-last, which torch.export must not see (it then fixed
    the batch size): the graph takes any batch."""
    import onnxruntime as ort

    from napari_noise2same.engine import TrainConfig, Trainer, TrainingData

    data = TrainingData.from_arrays([noisy_pair[0]], "YX", patch_size=32, val_fraction=0)
    trainer = Trainer(data, TrainConfig(preset="tiny", batch_size=2, seed=0), device="cpu")
    trainer.train(max_steps=2)
    model = trainer.to_model(diagnose=False).with_onnx()
    session = ort.InferenceSession(model.onnx, providers=["CPUExecutionProvider"])
    assert session.run(None, {"x": np.zeros((3, 1, 40, 44), np.float32)})[0].shape == (3, 1, 40, 44)


@pytest.mark.parametrize("dims, shape", [(2, (3, 1, 50, 51)), (3, (2, 1, 21, 30, 27)), (3, (1, 1, 49, 49, 49))])
def test_the_packaged_network_takes_any_batch_and_size_in_onnx(dims, shape):
    """The bioimage.io form (padding and normalisation inside): its ONNX graph keeps the batch and
    every side dynamic in 3D as in 2D (torch.export once fixed a 3D batch at 1 and its padding
    at the example's sizes), and gives what the predictor gives for each batch entry."""
    import onnxruntime as ort
    import torch

    from napari_noise2same.engine.onnx_export import export_packaged_onnx
    from napari_noise2same.engine.unet import Noise2SameUNet

    model = random_model(dims=dims)
    session = ort.InferenceSession(export_packaged_onnx(model.net), providers=["CPUExecutionProvider"])
    assert [isinstance(s, str) for s in session.get_inputs()[0].shape] == [True, False] + [True] * dims
    x = image(shape, seed=3)
    out = session.run(None, {"x": x})[0]
    packaged = Noise2SameUNet(dims, 1, model.unet_config.base_width)
    packaged.load_state_dict(model.net.state_dict())
    with torch.no_grad():
        eager = packaged.eval()(torch.from_numpy(x)).numpy()
    assert out.shape == x.shape and np.abs(out - eager).max() / x.std() < 1e-4
    spatial = "ZYX" if dims == 3 else "YX"
    for b in range(shape[0]):  # sides not multiples of 4: mirrored at their end as the predictor does
        ours = model.predict(x[b, 0], spatial, PredictOptions(engine="torch"))
        assert np.abs(eager[b, 0] - ours).max() / x.std() < 1e-4
