import numpy as np
import pytest
import torch

from napari_noise2same.engine.masking import apply_mask, box_side, donut_kernel, donut_mean, stratified_mask


@pytest.mark.parametrize("shape", [(4, 2, 128, 128), (4, 1, 32, 64, 64)])
@pytest.mark.parametrize("percent", [0.5, 2.0])
def test_mask_fraction_matches_percent(shape, percent):
    gen = torch.Generator().manual_seed(0)
    mask = stratified_mask(shape, percent, generator=gen)
    assert set(torch.unique(mask).tolist()) <= {0.0, 1.0}
    fraction = mask.mean().item() * 100
    assert fraction == pytest.approx(percent, rel=0.15)


def test_box_side_uses_the_right_root_in_3d():
    # the official code used the square root in 3D (masking 0.04 %); the cube root gives 0.5 %
    assert box_side(0.5, 2) == pytest.approx(200**0.5)
    assert box_side(0.5, 3) == pytest.approx(200 ** (1 / 3))


@pytest.mark.parametrize("ndim", [2, 3])
def test_one_pixel_per_box(ndim):
    percent = 1.0 if ndim == 2 else 100 / 64  # boxes of 10 px in 2D, 4 px in 3D
    side = box_side(percent, ndim)
    size = 40 if ndim == 2 else 28
    shape = (3, 2) + (size,) * ndim
    mask = stratified_mask(shape, percent, generator=torch.Generator().manual_seed(1)).numpy()
    boxes = int(np.ceil(size / side))
    coords = np.argwhere(mask > 0)
    # every sample and channel has its own draw: the masks differ
    assert not np.array_equal(mask[0, 0], mask[0, 1]) and not np.array_equal(mask[0, 0], mask[1, 0])
    # at most one pixel per box, and every box that lies fully inside has exactly one
    box_index = np.floor(coords[:, 2:] / side + 1e-9).astype(int)
    keys = [tuple(k) for k in np.concatenate([coords[:, :2], box_index], axis=1)]
    assert len(keys) == len(set(keys))
    full = int(np.floor(size / side))
    per_sample = {}
    for k in keys:
        if all(b < full for b in k[2:]):
            per_sample[k[:2]] = per_sample.get(k[:2], 0) + 1
    assert all(v == full**ndim for v in per_sample.values())
    assert len(per_sample) == 6 and boxes >= full


def test_donut_kernel_2d_is_the_papers():
    k = donut_kernel(2, 1)[0, 0].numpy()
    expected = np.array([[0.5, 1, 0.5], [1, 0, 1], [0.5, 1, 0.5]]) / 6
    np.testing.assert_allclose(k, expected, rtol=1e-6)
    k3 = donut_kernel(3, 1)[0, 0].numpy()
    assert k3[1, 1, 1] == 0 and k3.sum() == pytest.approx(1.0)


def test_donut_replacement_ignores_the_pixel_itself():
    x = torch.zeros(1, 1, 9, 9)
    x[0, 0, 4, 4] = 100.0  # a spike the replacement must not see
    mask = torch.zeros_like(x)
    mask[0, 0, 4, 4] = 1
    out = apply_mask(x, mask, "donut")
    assert out[0, 0, 4, 4].item() == 0.0
    assert torch.equal(out[mask == 0], x[mask == 0])
    y = torch.arange(25, dtype=torch.float32).view(1, 1, 5, 5)
    assert donut_mean(y)[0, 0, 2, 2].item() == pytest.approx(12.0)  # a linear ramp: mean of neighbours


def test_gaussian_replacement_only_touches_mask():
    x = torch.randn(2, 1, 32, 32)
    mask = stratified_mask(tuple(x.shape), 5.0, generator=torch.Generator().manual_seed(0))
    out = apply_mask(x, mask, "gaussian", sigma=0.2, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out[mask == 0], x[mask == 0])
    assert not torch.equal(out[mask > 0], x[mask > 0])
    assert out[mask > 0].std().item() == pytest.approx(0.2, rel=0.5)
