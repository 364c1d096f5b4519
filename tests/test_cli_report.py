"""noise2same report and predict --uncertainty: what a user gets on the command line."""

import json

import numpy as np
import pytest
import tifffile

from napari_noise2same.cli import main
from napari_noise2same.engine import TrainConfig, Trainer, TrainingData


@pytest.fixture(scope="module")
def trained(tmp_path_factory, noisy_pair):
    folder = tmp_path_factory.mktemp("report")
    data = TrainingData.from_arrays([noisy_pair[0]], "YX", patch_size=32, val_fraction=0.1)
    trainer = Trainer(data, TrainConfig(preset="tiny", patch_size=32, batch_size=4, seed=0), device="cpu")
    trainer.train(max_steps=20)
    trainer.to_model().save(folder / "m.n2s")
    stack = np.stack([noisy_pair[0], noisy_pair[0][::-1]]).astype(np.float32)
    tifffile.imwrite(
        folder / "stack.tif",
        stack,
        imagej=True,
        resolution=(1 / 0.25, 1 / 0.25),
        metadata={"axes": "TYX", "unit": "um", "finterval": 2.0},
    )
    tifffile.imwrite(folder / "single.tif", noisy_pair[0])
    return folder


def test_report_prints_a_summary_and_writes_json_in_input_order(trained, capsys):
    out = trained / "report.json"
    code = main(
        [
            "report",
            "-m",
            str(trained / "m.n2s"),
            str(trained / "stack.tif"),
            str(trained / "single.tif"),
            "-o",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "noise" in printed and "D(f)" in printed and "residual" in printed
    entries = json.loads(out.read_text())
    assert [e["input"] for e in entries] == [str(trained / "stack.tif"), str(trained / "single.tif")]
    for e in entries:
        assert {"noise_sigma", "noise_correlated", "residual_structure_fraction", "d_f", "warnings"} <= set(e)
        assert e["noise_sigma"] > 0 and isinstance(e["noise_correlated"], bool) and isinstance(e["warnings"], list)
        assert 0 <= e["residual_structure_fraction"] <= 1 and e["d_f"] >= 0 and e["d_f_se"] > 0


def test_predict_uncertainty_writes_a_map_like_the_denoised_file(trained):
    out = trained / "out"
    assert (
        main(["predict", "-m", str(trained / "m.n2s"), str(trained / "stack.tif"), "-o", str(out), "--uncertainty"])
        == 0
    )
    denoised, uncertainty = (tifffile.TiffFile(out / f"stack_{kind}.tif") for kind in ("denoised", "uncertainty"))
    with denoised, uncertainty:
        assert uncertainty.series[0].shape == denoised.series[0].shape == (2, 128, 128)
        assert uncertainty.series[0].axes == denoised.series[0].axes
        assert uncertainty.imagej_metadata["finterval"] == denoised.imagej_metadata["finterval"] == 2.0
        assert uncertainty.pages[0].tags["XResolution"].value == denoised.pages[0].tags["XResolution"].value
        values = uncertainty.asarray()
    assert np.isfinite(values).all() and (values >= 0).all() and values.max() > 0
