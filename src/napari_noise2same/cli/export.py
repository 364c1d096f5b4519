"""``noise2same export-bioimageio``: a model as a bioimage.io model package."""

from __future__ import annotations

import sys
from pathlib import Path

from ..batch import read_input
from .common import check_writable


def add_parser(sub) -> None:
    e = sub.add_parser(
        "export-bioimageio",
        help="write a model as a bioimage.io model package (.zip)",
        description="Write a trained model as a bioimage.io model package, usable in deepImageJ, "
        "bioimageio.core and other consumers of the format. Needs the optional extra: "
        "pip install 'napari-noise2same[bioimageio]'.",
    )
    e.add_argument("-m", "--model", required=True, help="model file (.n2s)")
    e.add_argument("-o", "--output", required=True, help="package to write (.zip)")
    e.add_argument("--sample", metavar="IMAGE", help="test input image (default: a built-in example)")
    e.add_argument("--axes", help="axes of the sample over STCZYX (default: read from the file)")
    e.add_argument("--name", help="model name (default: from the model file name)")
    e.add_argument("--author", action="append", dest="authors", metavar="NAME", help="author (repeat for several)")
    e.set_defaults(func=run)


def run(args) -> int:
    from ..export import export_bioimageio
    from ..export.format_version import TARGET_FORMAT

    output = Path(args.output)
    check_writable(output, "the package", "model.zip")
    sample = read_input(args.sample, args.axes) if args.sample else None
    path = export_bioimageio(
        args.model,
        output,
        sample=None if sample is None else sample.data,
        sample_axes=None if sample is None else sample.axes,
        name=args.name,
        authors=args.authors,
        progress=lambda message: print(message, file=sys.stderr),
    )
    print(f"wrote {path} (bioimage.io model format {TARGET_FORMAT})")
    return 0
