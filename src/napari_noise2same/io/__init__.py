"""Reading and writing image files with their axes and pixel sizes (no Qt, no napari)."""

from .image_file import ImageFile
from .images import find_inputs, read_image, write_tiff

__all__ = ["ImageFile", "find_inputs", "read_image", "write_tiff"]
