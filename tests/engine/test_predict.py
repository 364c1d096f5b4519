import numpy as np
import pytest

from napari_noise2same.engine import PredictOptions
from napari_noise2same.engine.unet import RECEPTIVE_RADIUS
from napari_noise2same.errors import ConfigError, ImageError

from .helpers import image, random_model


def test_tiled_prediction_equals_whole_image():
    model = random_model()
    x = image((300, 276))
    whole = model.predict(x, "YX")
    calls = []
    tiled = model.predict(
        x, "YX", PredictOptions(tile_size=192, overlap=96), on_progress=lambda d, t: calls.append((d, t))
    )
    assert calls[-1][0] == calls[-1][1] == 6  # 3 x 2 tiles
    assert np.abs(tiled - whole).max() < 1e-4 * np.abs(whole).max()


def test_tiled_3d_prediction_equals_whole_volume():
    model = random_model(dims=3)
    x = image((40, 100, 108))
    whole = model.predict(x, "ZYX")
    tiled = model.predict(x, "ZYX", PredictOptions(tile_size=(24, 100, 100), overlap=(12, 96, 96)))
    assert np.abs(tiled - whole).max() < 1e-3 * np.abs(whole).max()


def test_default_3d_tiles_have_no_z_seams():
    """Tiles of 64 planes over a deeper volume: the default overlap leaves 24 planes of Z context."""
    model = random_model(dims=3)
    x = image((100, 72, 72))
    whole = model.predict(x, "ZYX")
    calls = []
    tiled = model.predict(x, "ZYX", PredictOptions(tile_size=(64, 72, 72)), on_progress=lambda d, t: calls.append(t))
    assert calls[-1] == 4  # starts 0, 12, 24, 36 along Z (steps of at most 64 - 48)
    assert np.abs(tiled - whole).max() < 1e-4 * np.abs(whole).max()


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
    plain, tta = model.predict(x, "YX"), model.predict(x, "YX", PredictOptions(tta=True))
    assert tta.shape == x.shape and not np.allclose(plain, tta)
    # TTA output is equivariant: rotating the input rotates the output
    rotated = model.predict(np.rot90(x).copy(), "YX", PredictOptions(tta=True))
    np.testing.assert_allclose(np.rot90(tta), rotated, atol=1e-4)


def test_wrong_channel_count_is_refused():
    model = random_model(channels=1)
    with pytest.raises(ImageError, match="channel"):
        model.predict(image((2, 32, 32)), "CYX")


def test_stop_aborts_prediction():
    model = random_model()
    with pytest.raises(InterruptedError):
        model.predict(image((256, 256)), "YX", PredictOptions(tile_size=64, overlap=16), should_stop=lambda: True)


def test_lazy_input_gives_the_same_result_slab_by_slab():
    da = pytest.importorskip("dask.array")
    from napari_noise2same.engine.predict import iter_denoised

    model = random_model(dims=3)
    x = image((40, 70, 76))
    options = PredictOptions(tile_size=(16, 64, 64), overlap=(8, 32, 32))
    eager = model.predict(x, "ZYX", options)
    lazy = model.predict(da.from_array(x, chunks=(1, 70, 76)), "ZYX", options)
    np.testing.assert_array_equal(eager, lazy)
    slabs = [block.shape[0] for _, block in iter_denoised(model, x, "ZYX", options)]
    assert sum(slabs) == 40 and max(slabs) <= 16  # never more than one tile-deep slab at a time


def test_tiny_and_odd_sizes_are_padded_not_refused():
    model = random_model(dims=3)
    x = image((3, 5, 11))  # smaller than the network's minimum input on every axis
    out = model.predict(x, "ZYX")
    assert out.shape == x.shape and np.isfinite(out).all()


def test_constant_and_nan_images_are_refused():
    model = random_model()
    with pytest.raises(ImageError, match="constant"):
        model.predict(np.full((32, 32), 7, np.uint16), "YX")
    x = image((32, 32))
    x[3, 4] = np.nan
    with pytest.raises(ImageError, match="NaN"):
        model.predict(x, "YX")


@pytest.mark.parametrize("length, tile", [(100, 64), (1024, 256), (300, 192), (2048, 512)])
def test_every_output_pixel_comes_from_a_tile_with_enough_context(length, tile):
    """The tile that supplies a pixel saw at least the receptive radius (22 px) on both sides,
    except where the image itself ends; with the default overlap, in 2D and in 3D's Z."""
    from napari_noise2same.engine.tiling import blend_window, tile_overlap, tile_starts

    (overlap,) = tile_overlap(None, (tile,))
    starts = tile_starts(length, tile, overlap)
    plan = [starts]
    total = np.zeros(starts[-1] + tile)
    for a in starts:
        w = blend_window((a,), (tile,), plan, (length,))
        total[a : a + tile] += w
        for i in np.flatnonzero(w):
            z = a + i
            assert a == 0 or z - a >= RECEPTIVE_RADIUS
            assert a + tile >= length or a + tile - 1 - z >= RECEPTIVE_RADIUS
    assert np.all(total[:length] == 1)  # each pixel from exactly one tile


@pytest.mark.parametrize("dims", [2, 3])
def test_the_receptive_radius_is_what_the_network_sees(dims):
    """An output pixel's gradient reaches input pixels exactly RECEPTIVE_RADIUS away, at most
    (over the four positions on the downsampling grid): the halo and the overlaps rest on it."""
    import torch

    from napari_noise2same.engine.unet import HALO, SIZE_MULTIPLE, UNet, UNetConfig

    net = UNet(UNetConfig(dims=dims, base_width=4)).eval().double()
    side = 96 if dims == 2 else 64
    reach = 0
    for phase in range(SIZE_MULTIPLE):
        x = torch.zeros((1, 1) + (side,) * dims, dtype=torch.double, requires_grad=True)
        c = side // 2 + phase
        net(x)[(0, 0) + (c,) * dims].backward()
        hit = torch.nonzero(x.grad[0, 0])
        reach = max(reach, int((hit - c).abs().max()))
    assert reach == RECEPTIVE_RADIUS
    assert HALO >= RECEPTIVE_RADIUS and HALO % SIZE_MULTIPLE == 0


@pytest.mark.parametrize("dims", [2, 3])
def test_bfloat16_prediction_is_close_to_float32(dims):
    """--precision bfloat16: the network runs under bfloat16 autocast (the output differs from
    float32, so it did), within a few hundredths of the input's std; float32 stays exact."""
    model = random_model(dims=dims)
    x = image((16, 48, 40) if dims == 3 else (96, 80))
    axes = "ZYX" if dims == 3 else "YX"
    exact = model.predict(x, axes, PredictOptions(engine="torch"))
    assert np.array_equal(exact, model.predict(x, axes, PredictOptions(engine="torch", precision="float32")))
    bf16 = model.predict(x, axes, PredictOptions(precision="bfloat16"))  # auto: runs in PyTorch
    assert bf16.dtype == np.float32 and bf16.shape == x.shape
    difference = np.abs(bf16 - exact) / x.std()
    assert 0 < difference.max() < 0.1 and difference.mean() < 0.01


def test_bfloat16_is_refused_for_onnx_runtime():
    with pytest.raises(ConfigError, match="engine torch"):
        PredictOptions(engine="onnx", precision="bfloat16")
    with pytest.raises(ConfigError, match="precision must be one of"):
        PredictOptions(precision="float16")
