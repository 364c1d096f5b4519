"""The ``noise2same`` command: train, predict, info, export-bioimageio and a self-contained demo.

User errors print one line on stderr and exit with status 2; set
NOISE2SAME_DEBUG=1 to see tracebacks.  Each subcommand lives in its own module
and imports torch and the engine only when it runs.
"""

from __future__ import annotations

import argparse
import os
import sys

from .. import __version__
from ..errors import Noise2SameError
from . import demo, export, info, predict, report, train
from .common import words


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args) or 0
    except Noise2SameError as e:
        print(f"noise2same: error: {words(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("noise2same: interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        if os.environ.get("NOISE2SAME_DEBUG"):
            raise
        print(
            f"noise2same: internal error: {type(e).__name__}: {e} (NOISE2SAME_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return 1


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="noise2same", description="Self-supervised denoising with Noise2Same.")
    p.add_argument("--version", action="version", version=f"napari-noise2same {__version__}")
    sub = p.add_subparsers(metavar="COMMAND")
    for command in (train, predict, report, info, export, demo):
        command.add_parser(sub)
    return p


if __name__ == "__main__":
    sys.exit(main())
