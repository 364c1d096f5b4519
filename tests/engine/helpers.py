import numpy as np
import torch

from napari_noise2same.engine import Noise2SameModel, TrainConfig, UNet, UNetConfig


def random_model(dims=2, channels=1, preset="tiny", seed=0, independent=False) -> Noise2SameModel:
    """An untrained model with non-trivial BatchNorm statistics, for prediction tests
    (``independent``: one network per channel)."""
    torch.manual_seed(seed)
    net = UNet(UNetConfig.from_preset(preset, dims, channels, independent))
    for m in net.modules():
        if isinstance(m, (torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    net.eval()
    axes = ("ZYX" if dims == 3 else "YX") if channels == 1 else ("CZYX" if dims == 3 else "CYX")
    mode = "independent" if independent else "joint"
    return Noise2SameModel(net, axes, TrainConfig(dims=dims, preset=preset, channel_mode=mode))


def image(shape, seed=0):
    return np.random.default_rng(seed).normal(10, 2, shape).astype(np.float32)
