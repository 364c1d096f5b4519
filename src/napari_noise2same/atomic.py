"""Write files under a temporary name and rename, so a crash never leaves half a file."""

from __future__ import annotations

import contextlib
import glob
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from .errors import Noise2SameError


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it to ``path``.

    The temporary name carries the writer's process id; one left by a process that was killed
    while writing (SIGKILL, a power cut) is removed by the next write of the same file."""
    path = Path(path)
    if not path.parent.is_dir():
        raise Noise2SameError(f"folder {path.parent} does not exist; create it or choose another output path")
    remove_orphans(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".part", dir=path.parent)
    except PermissionError:
        raise Noise2SameError(f"cannot write to {path.parent}; choose a writable folder") from None
    try:
        os.close(fd)
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def remove_orphans(path: Path) -> None:
    """Remove temporary files of ``path`` left by writers that no longer run."""
    for part in path.parent.glob(f".{glob.escape(path.name)}.*.part"):
        pid = part.name[len(path.name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and not _running(int(pid)):
            with contextlib.suppress(OSError):
                part.unlink()


def _running(pid: int) -> bool:
    import psutil

    return pid == os.getpid() or psutil.pid_exists(pid)


def atomic_write_dir(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call ``write(folder)`` on a temporary folder beside ``path`` (e.g. a zarr store), then
    put it in place of ``path``; an existing ``path`` is removed only once the new one is complete."""
    import shutil

    path = Path(path)
    if not path.parent.is_dir():
        raise Noise2SameError(f"folder {path.parent} does not exist; create it or choose another output path")
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent))
    except PermissionError:
        raise Noise2SameError(f"cannot write to {path.parent}; choose a writable folder") from None
    old = None
    try:
        write(tmp)
        if path.exists():
            old = path.with_name(f".{path.name}.{os.getpid()}.old")
            os.replace(path, old)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not path.exists():
            os.replace(old, path)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink()
    return path
