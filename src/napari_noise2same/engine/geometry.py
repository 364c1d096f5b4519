"""The network's facts that need no torch: presets, size multiple, receptive radius, halo.

``unet.py`` builds the network from these; the tile plan, the out-of-core chunks, the
bioimage.io export and the command line's help read them here, without importing torch.
The bioimage.io export inlines this file into the network file it ships.
"""

#: base width (channels at full resolution) of each preset; widths double per level
PRESETS: dict[str, int] = {"paper": 96, "fast": 32, "tiny": 16}
DEFAULT_PRESET = "tiny"  # the lightest network: what tests and quick examples train

#: spatial sizes fed to the network must be multiples of this (two downsamplings)
SIZE_MULTIPLE = 4
#: receptive-field radius: an output pixel depends on input pixels at most this far away along
#: each axis (the largest over the four positions on the downsampling grid; tests measure it)
RECEPTIVE_RADIUS = 22
#: context kept on each side of a tile, a chunk or an exported package's tiles: the radius
#: rounded up to the size multiple, so that halos keep tiles on the downsampling grid
HALO = -(-RECEPTIVE_RADIUS // SIZE_MULTIPLE) * SIZE_MULTIPLE
