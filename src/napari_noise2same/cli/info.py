"""``noise2same info``: what a model file holds and how it was trained."""

from __future__ import annotations

import json

from ..text import channel_words, number


def add_parser(sub) -> None:
    i = sub.add_parser(
        "info", help="show what a model file holds", description="Show what a model file holds and how it was trained."
    )
    i.add_argument("model", help="model file (.n2s)")
    i.add_argument("--json", action="store_true", help="print the full metadata as JSON")
    i.set_defaults(func=run)


def run(args) -> int:
    from ..engine import read_metadata
    from ..engine.estimate import describe as describe_estimate
    from ..engine.onnx_model import has_onnx
    from ..engine.schedule import describe

    meta = read_metadata(args.model)
    if args.json:
        print(json.dumps(meta, indent=2))
        return 0
    u, t, s = meta["unet"], meta.get("train_config", {}), meta.get("summary", {})
    steps = f"{s.get('steps')} steps"
    if s.get("resumed_from"):
        r = s["resumed_from"]
        before = r.get("total_steps") or r.get("steps")
        steps += f", fine-tuned from a model of {before} steps ({s.get('total_steps')} in all)"
    auto = s.get("auto")
    chosen = f"; chosen by auto: {'; '.join(auto['reasons'])}" if auto else ""
    checkpoint = " (a checkpoint written during training: continue with --resume)" if s.get("checkpoint") else ""
    schedule = describe(t.get("lr_schedule", "step"), t.get("lr_halve_every", 5000))
    per_frame = meta.get("normalization", {}).get("per") == "frame"
    onnx = has_onnx(args.model)
    losses = (
        f"total {number(s.get('final_loss'))}, reconstruction {number(s.get('final_reconstruction'))}, "
        f"invariance {number(s.get('final_invariance'))}, validation {number(s.get('final_val_loss'))}"
    )
    lines = [
        f"model       {args.model}{checkpoint}",
        (
            f"network     {u['dims']}D U-Net, base width {u['base_width']} (preset {t.get('preset', '?')}), "
            f"{channel_words(u['in_channels'], u.get('groups', 1))}{chosen}"
        ),
        f"trained on  axes {meta.get('axes')}, shapes {s.get('trained_on')}",
        f"validation  {_validation_text(t, s)}",
        (
            f"method      {t.get('method')}, mask {t.get('mask_percent')} %, lambda_inv {_lambda_text(t, s)}, "
            f"{t.get('replacement')} replacement, structured mask {_struct_mask_text(t, s)}"
        ),
        (
            f"training    {steps}, {s.get('train_seconds')} s on {s.get('device')}, batch {s.get('batch_size')} x "
            f"{s.get('patch_size')}, learning rate {t.get('learning_rate')} ({schedule}), "
            f"{'rotations and flips' if t.get('augment', True) else 'no augmentation'}"
        ),
        f"normalised  {'each frame by its own mean and std' if per_frame else 'by the whole image'}",
        f"ONNX        {'the network is in the file too (noise2same predict --engine onnx)' if onnx else 'no'}",
        f"estimate    {describe_estimate(s.get('estimate'))}",
        f"noise model {_noise_model_text(s.get('noise_model'))}",
        f"losses      {losses}",
        (
            f"D(f)        {number(s.get('invariance_D'))} "
            "(0 = blind spot; larger = output depends more on each pixel itself)"
        ),
        f"written by  napari-noise2same {meta.get('package_version')} on {s.get('date')}",
    ]
    print("\n".join(lines))
    return 0


def _validation_text(config: dict, summary: dict) -> str:
    if summary.get("validated_on"):
        return f"separate images, shapes {summary['validated_on']}"
    fraction = config.get("val_fraction")
    return f"{fraction:.0%} held out of the training images" if fraction else "none"


def _struct_mask_text(config: dict, summary: dict) -> str:
    record = summary.get("struct_mask")
    if not record:
        return "off (trained before structured masks)"
    return record["reason"] if config.get("struct_mask") == "auto" else record["struct_mask"]


def _lambda_text(config: dict, summary: dict) -> str:
    if config.get("lambda_inv") == "auto" and summary.get("noise_correlated"):
        return f"auto = {summary['lambda_inv']:.3g} (the paper's: the noise looked correlated)"
    if config.get("lambda_inv") == "auto" and summary.get("lambda_inv") is not None:
        return f"auto = {summary['lambda_inv']:.3g} (2 x noise std {summary.get('noise_std_estimate', 0):.3g})"
    return str(config.get("lambda_inv"))


def _noise_model_text(record: dict | None) -> str:
    if not record:
        return "fitted on each image as it is denoised (Poisson-Gaussian per YX plane), for the posterior"
    channels = "; ".join(
        f"gain {number(c.get('gain'))}, offset {number(c.get('offset'))}, read noise {number(c.get('read_noise'))}"
        for c in record.get("channels", [])
    )
    return f"{record.get('source', 'a calibration')}: {channels} (for the posterior)"
