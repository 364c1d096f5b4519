"""``python -m napari_noise2same.cli``: the ``noise2same`` command."""

import sys

from . import main

sys.exit(main())
