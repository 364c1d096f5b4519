import numpy as np
import pytest

from napari_noise2same.errors import ImageError

from .helpers import image, random_model


def test_tiled_prediction_equals_whole_image():
    model = random_model()
    x = image((300, 276))
    whole = model.predict(x, "YX")
    calls = []
    tiled = model.predict(x, "YX", tile_size=192, overlap=96, on_progress=lambda d, t: calls.append((d, t)))
    assert calls[-1][0] == calls[-1][1] == 6  # 3 x 2 tiles
    assert np.abs(tiled - whole).max() < 1e-4 * np.abs(whole).max()


def test_tiled_3d_prediction_equals_whole_volume():
    model = random_model(dims=3)
    x = image((40, 100, 108))
    whole = model.predict(x, "ZYX")
    tiled = model.predict(x, "ZYX", tile_size=(24, 100, 100), overlap=(12, 96, 96))
    assert np.abs(tiled - whole).max() < 1e-3 * np.abs(whole).max()


def test_output_keeps_axes_shape_and_intensity_scale():
    model = random_model(channels=2)
    x = image((3, 37, 2, 45))  # T Y C X, odd sizes
    out = model.predict(x, "TYCX")
    assert out.shape == x.shape and out.dtype == np.float32
    # de-standardised: back in the input's range, not around 0
    assert abs(out.mean() - x.mean()) < 3 * x.std()
    swapped = model.predict(np.transpose(x, (0, 3, 2, 1)), "TXCY")
    np.testing.assert_allclose(np.transpose(swapped, (0, 3, 2, 1)), out, atol=1e-4)


def test_tta_averages_dihedral_transforms():
    model = random_model()
    x = image((64, 64))
    plain, tta = model.predict(x, "YX"), model.predict(x, "YX", tta=True)
    assert tta.shape == x.shape and not np.allclose(plain, tta)
    # TTA output is equivariant: rotating the input rotates the output
    rotated = model.predict(np.rot90(x).copy(), "YX", tta=True)
    np.testing.assert_allclose(np.rot90(tta), rotated, atol=1e-4)


def test_wrong_channel_count_is_refused():
    model = random_model(channels=1)
    with pytest.raises(ImageError, match="channel"):
        model.predict(image((2, 32, 32)), "CYX")


def test_stop_aborts_prediction():
    model = random_model()
    with pytest.raises(InterruptedError):
        model.predict(image((256, 256)), "YX", tile_size=64, overlap=16, should_stop=lambda: True)
