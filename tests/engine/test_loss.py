import math

import pytest
import torch

from napari_noise2same.engine.loss import blindspot_loss, noise2same_loss


def test_noise2same_loss_equals_hand_computation():
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]], [[[0.0, 1.0], [0.0, 1.0]]]])
    out = torch.tensor([[[[1.5, 2.0], [2.0, 4.0]]], [[[0.0, 0.0], [1.0, 1.0]]]])
    out_masked = torch.tensor([[[[0.5, 2.0], [2.0, 4.0]]], [[[0.0, 0.0], [1.0, 3.0]]]])
    mask = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]], [[[0.0, 0.0], [0.0, 1.0]]]])
    terms = noise2same_loss(x, out, out_masked, mask, lambda_inv=2.0)
    # reconstruction: squared errors 0.25, 0, 1, 0, 0, 1, 1, 0 over 8 pixels
    assert terms.reconstruction.item() == pytest.approx(3.25 / 8)
    # invariance: masked squared differences (1.5-0.5)^2 = 1 and (1-3)^2 = 4, pooled over the batch
    assert terms.invariance.item() == pytest.approx(math.sqrt(5 / 2))
    assert terms.total.item() == pytest.approx(3.25 / 8 + 2 * math.sqrt(5 / 2))


def test_blindspot_loss_is_mse_on_the_mask_only():
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    out_masked = torch.tensor([[[[3.0, 0.0], [0.0, 5.0]]]])
    mask = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]]]])
    terms = blindspot_loss(x, out_masked, mask)
    assert terms.total.item() == pytest.approx((4 + 1) / 2)
    assert terms.invariance.item() == 0.0
