"""The human-readable parts of a bioimage.io package: ``README.md`` and the cover image."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..engine.schedule import describe
from ..text import channel_words, number
from .description import CITATION, CITATION_DOI
from .format_version import TARGET_FORMAT
from .network import HALO
from .samples import min_input_size


def readme(model, name: str, test_shape: tuple) -> str:
    """``README.md``: what the model does, how it was trained, how it was checked, its limits."""
    from .. import __version__

    s, t = model.summary, model.train_config
    steps = s.get("total_steps") or s.get("steps")
    spatial = "ZYX" if model.dims == 3 else "YX"
    lam = s.get("lambda_inv", t.lambda_inv)
    lam_text = f"{lam}"
    if t.lambda_inv == "auto" and isinstance(lam, (int, float)):
        lam_text = (
            f"auto = {lam:.3g} (the paper's value: the noise looked correlated)"
            if s.get("noise_correlated")
            else f"auto = {lam:.3g} (2 x the estimated noise std)"
        )
    rows = [
        ("network", f"{model.dims}D residual U-Net, preset `{t.preset}` (base width {model.unet_config.base_width})"),
        ("channels", channel_words(model.channels, model.unet_config.groups)),
        ("axes of the training data", f"`{model.axes}`"),
        ("training steps", number(steps)),
        ("batch size", number(s.get("batch_size", t.batch_size))),
        ("patch size", number(s.get("patch_size", t.patch_size))),
        ("loss", "Noise2Same" if t.method == "noise2same" else "blind spot (masked MSE)"),
        ("lambda_inv", lam_text),
        ("mask percent", f"{t.mask_percent} %"),
        ("mask replacement", f"{t.replacement} (sigma {t.mask_sigma})"),
        ("structured mask", (s.get("struct_mask") or {}).get("reason", "off")),
        ("learning rate", f"{t.learning_rate}, {describe(t.lr_schedule, t.lr_halve_every)} (Adam)"),
        ("final loss", number(s.get("final_loss"))),
        ("final validation loss", number(s.get("final_val_loss"))),
        ("D(f) (J-invariance, 0 = blind spot)", number(s.get("invariance_D"))),
        ("training time", f"{s['train_seconds']:.0f} s on {s.get('device', '?')}" if s.get("train_seconds") else "?"),
        ("trained on (samples, channels, spatial)", number(s.get("trained_on"))),
        ("date", number(s.get("date"))),
        ("napari-noise2same", f"{s.get('package_version', '?')} (exported with {__version__})"),
    ]
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    return f"""# {name}

A self-supervised **Noise2Same** denoiser, trained with napari-noise2same (a napari plugin and
command-line tool) on noisy images alone, without clean targets, and exported as a bioimage.io
model package.

## What it does

Input: a noisy {model.dims}D image with {model.channels} channel(s), axes
`batch, channel, {", ".join(spatial.lower())}`, any size of at least {min_input_size()} px per spatial
axis.  Output: the denoised image, same shape, float32, in the input's intensity units.

The network standardises each image (each batch entry and channel) by its own mean and
standard deviation, denoises it and maps the result back with the same two numbers, exactly
as napari-noise2same does; the package therefore declares no pre- or postprocessing besides
conversion to float32.  The U-Net needs sides that are multiples of 4: the network mirrors the
end of each side up to the next multiple and crops the output back, again as napari-noise2same
does.

Consumers that cut an image into tiles (bioimageio.core's blockwise mode; deepImageJ may tile
large images) standardise each tile on its own, which shifts intensities a little from tile to tile:
predict whole images when they fit in memory, else use tiles of 256 px or more.  Output pixels
closer than {HALO} px to a tile's edge lack context (the output halo), so tiles must overlap.

## Training

Trained by napari-noise2same with the Noise2Same loss (reconstruction on all pixels plus
lambda_inv times the square root of the invariance term on the masked set J):

| setting | value |
|---|---|
{table}

The network is the two-level residual U-Net of the official Noise2Same implementation
(pre-activation residual blocks, stride-2 convolutions down, transposed convolutions up,
concatenated skips, a BN-ReLU-1x1 head), at the preset's width.

## Weights and format

The same network in each weight format, so that a consumer that reads only one of them runs it:

- `weights.pt` (pytorch_state_dict): the state dict of `Noise2SameUNet` in `noise2same_unet.py`,
  which needs only PyTorch;
- `weights_torchscript.pt` (torchscript): the same network compiled with `torch.jit.script`
  (scripted, not traced, so any input size works);
- `weights.onnx` (onnx), where present: the same network exported by `torch.onnx.export`, batch
  and sizes dynamic.

`rdf.yaml` is written in bioimage.io model format {TARGET_FORMAT}, the oldest that holds this
package, so that older consumers read it as well as the newest.

## Validation

The test input (`test_input.npy`, shape {tuple(test_shape)}) is a noisy example and
`test_output.npy` what this package's network makes of it; bioimage.io's `test_model` checks
that each weight format reproduces it.  At export the output was also checked against
napari-noise2same's own predictor.  Noise2Same learns from the noisy data itself, so check the
result on your own images: compare the denoised image with the noisy one (and, where you have
one, with a long-exposure or averaged image of the same field) and look for blurred fine
structures or structure-like artefacts in background regions.

## Limitations

The model has seen only the images it was trained on: use it on images of the same kind
(microscope, sample, noise level).  It removes noise that is independent from pixel to pixel;
structured noise (stripes, correlated camera noise) remains.

## Citation

{CITATION} arXiv:2010.11971, doi:{CITATION_DOI}.

## License

BSD-3-Clause (the network code and these weights).
"""


def write_cover(path: Path, test_input: np.ndarray, test_output: np.ndarray) -> None:
    """noisy | denoised, first channel (middle plane for 3D), same display range, 2:1."""
    from PIL import Image, ImageDraw

    def plane(t):
        p = t[0, 0]
        return p[p.shape[0] // 2] if p.ndim == 3 else p

    noisy, denoised = plane(test_input), plane(test_output)
    lo, hi = np.percentile(noisy, [0.5, 99.8])
    hi = hi if hi > lo else lo + 1.0
    both = np.concatenate([noisy, denoised], axis=1)
    pixels = (np.clip((both - lo) / (hi - lo), 0, 1) * 255).astype(np.uint8)
    image = Image.fromarray(pixels, mode="L")
    zoom = max(1, 256 // pixels.shape[0])
    image = image.resize((image.width * zoom, image.height * zoom), Image.NEAREST)
    draw = ImageDraw.Draw(image)
    for x, label in ((4, "noisy"), (image.width // 2 + 4, "Noise2Same")):
        draw.text((x + 1, 5), label, fill=0)
        draw.text((x, 4), label, fill=255)
    image.save(path)
