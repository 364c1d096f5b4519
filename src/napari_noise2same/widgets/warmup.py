"""Loading PyTorch in the background, so that opening the training widget never waits for it.

The widget's modules import nothing of torch.  A thread imports it when the widget opens,
then what the first training step would import (torch.optim brings torch._dynamo: 1-3 s of
imports), builds the memory estimates of the network presets and lists the devices; the
widget learns the devices through ``on_ready`` and a training job waits for the thread first.

Where the thread holds Python's GIL, the GUI cannot run.  Loading a shared library with
``ctypes.CDLL`` or ``import`` holds it for the whole 0.3 s, so torch's own libraries are loaded
first by the C library's ``dlopen`` called as a ctypes function, which runs without the GIL.
Python's full garbage collections hold it too, 0.2-0.4 s each, and loading torch sets off
several: the thread loads with the collector paused and then freezes what it loaded
(widgets/heap.py).  And while the GUI thread handles a click (:meth:`TorchWarmup.gui_first`),
the thread waits, without the GIL, before its next import: the two threads taking turns for the
GIL made 60 ms of enabling the form's widgets 120 ms.  The thread starts once Qt has drawn
the new dock (:meth:`TorchWarmup.start_soon`): loading torch's libraries while it drew made
the first drawing 115-200 ms instead of under 50.  Measured with
benchmarks/gui_responsiveness.py and docs/performance.md.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from . import heap

SWITCH_INTERVAL_S = 0.001
#: after a click is handled, the GUI keeps the GIL to itself this long more (Qt redraws the form)
REDRAW_S = 0.05
#: the longest a hold lasts (should the GUI thread import a module the warm-up waits to import,
#: it waits for the module's import lock until then)
MAX_HOLD_S = 0.5
#: the warm-up starts this long after the widget is built, when Qt has drawn it
START_AFTER_MS = 300
#: torch's shared libraries in load order (those that exist are loaded; the rest is torch's business)
LIBRARIES = ("libgomp", "libc10.so", "libtorch_cpu.so", "libtorch.so", "libtorch_python.so")


class TorchWarmup(threading.Thread):
    def __init__(self, on_ready: Callable[[list], None]):
        super().__init__(name="noise2same-torch-warmup", daemon=True)
        self.on_ready = on_ready
        self._done = threading.Event()
        self.error: BaseException | None = None
        #: (phase, perf_counter at its end), for benchmarks/gui_responsiveness.py
        self.timings: list[tuple[str, float]] = []
        self._gate = _ImportGate()
        self._start_lock = threading.Lock()

    def start(self) -> None:
        """Start the thread unless it has started (a job that needs torch may start it first)."""
        with self._start_lock:
            if self.ident is None:
                super().start()

    def start_soon(self, milliseconds: int = START_AFTER_MS) -> None:
        """Start once Qt has drawn the widget being built (from the GUI thread's event loop)."""
        from qtpy.QtCore import QTimer

        QTimer.singleShot(milliseconds, self.start)

    @contextmanager
    def gui_first(self) -> Iterator[None]:
        """Around GUI-thread work while torch may still be loading: the warm-up's next import
        waits until the block has ended (and Qt has redrawn, :data:`REDRAW_S`)."""
        self._gate.hold(MAX_HOLD_S)
        try:
            yield
        finally:
            self._gate.hold(REDRAW_S)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def run(self) -> None:
        devices = [("auto", "auto")]
        interval = sys.getswitchinterval()
        # ask for the GIL back sooner while this thread imports (Python 3's default: every 5 ms)
        sys.setswitchinterval(min(interval, SWITCH_INTERVAL_S))
        heap.pause()
        self._gate.thread = threading.get_ident()
        sys.meta_path.insert(0, self._gate)
        try:
            self._mark("start")
            _preload_libraries()
            self._mark("torch's libraries")
            import torch

            self._mark("import torch")
            torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # imports torch._dynamo
            self._mark("torch.optim (torch._dynamo)")
            from ..engine import memory, predict, trainer  # noqa: F401  # the modules training uses

            self._mark("the engine's modules")
            from ..engine.devices import available_devices
            from ..engine.geometry import PRESETS

            for width in PRESETS.values():  # auto's memory estimates (one meta-device network each)
                for dims in (2, 3):
                    memory.activations_per_pixel(dims, width)
            devices = available_devices()
            self._mark("memory estimates, devices")
        except Exception as e:  # noqa: BLE001 - kept, and raised where a training job needs torch
            self.error = e
        finally:
            if self._gate in sys.meta_path:
                sys.meta_path.remove(self._gate)
            heap.freeze()
            sys.setswitchinterval(interval)
            self._done.set()
        self.on_ready(devices)

    def _mark(self, phase: str) -> None:
        import time

        self.timings.append((phase, time.perf_counter()))

    def join(self, timeout: float | None = None) -> None:
        self.start()  # a job may come before start_soon's timer
        if self.is_alive() or not self._done.is_set():
            super().join(timeout)


class _ImportGate:
    """First on ``sys.meta_path`` while the warm-up imports: before each module the warm-up
    thread has not loaded yet, it sleeps (sleeping releases the GIL) while a hold lasts, then
    lets the usual finders find the module.  Other threads pass straight through."""

    def __init__(self) -> None:
        self.thread: int | None = None
        self._until = 0.0

    def hold(self, seconds: float) -> None:
        self._until = time.perf_counter() + seconds

    def find_spec(self, name, path=None, target=None):
        if threading.get_ident() == self.thread:
            while (left := self._until - time.perf_counter()) > 0:
                time.sleep(min(left, 0.005))
        return None  # the module is found as ever


def _preload_libraries() -> None:
    """dlopen torch's libraries without holding the GIL, so that ``import torch`` finds them
    loaded; quietly nothing where they are not where a pip-installed torch keeps them.

    ``ctypes.CDLL(path)`` keeps the GIL while the dynamic linker works (0.3 s for
    libtorch_cpu here), but a foreign function called through ``ctypes.CDLL`` runs without it,
    so the C library's own ``dlopen`` is called that way."""
    spec = importlib.util.find_spec("torch")
    if spec is None or spec.origin is None:
        return
    dlopen = _dlopen()
    lib = Path(spec.origin).parent / "lib"
    for name in LIBRARIES:
        for path in sorted(lib.glob(f"{name}*")) if name == "libgomp" else [lib / name]:
            if path.is_file():
                try:
                    if dlopen is None or not dlopen(os.fsencode(path), RTLD_NOW | ctypes.RTLD_GLOBAL):
                        ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
                except OSError:
                    return  # let torch load its libraries itself


RTLD_NOW = 2


def _dlopen():
    """The C library's ``dlopen`` as a ctypes function (called without the GIL), or None."""
    for name in (None, "libdl.so.2"):  # glibc 2.34+ has it in libc itself
        try:
            function = ctypes.CDLL(name).dlopen
        except (OSError, AttributeError):
            continue
        function.argtypes, function.restype = [ctypes.c_char_p, ctypes.c_int], ctypes.c_void_p
        return function
    return None
