"""napari-noise2same: self-supervised denoising of microscopy images with Noise2Same."""

try:
    from importlib.metadata import PackageNotFoundError, version

    __version__ = version("napari-noise2same")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.1.0.dev0"

__all__ = ["__version__"]
