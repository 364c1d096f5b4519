"""The warm-up: torch's libraries loaded by dlopen, no full garbage collections while loading,
and nothing it froze is kept."""

import gc
import subprocess
import sys
import threading
import weakref

import numpy as np
import pytest

from napari_noise2same.widgets import heap

PLUGIN = "napari-noise2same"


def test_pause_then_freeze_leaves_the_collector_on_and_release_gives_back():
    heap.release()
    assert gc.isenabled()
    heap.pause()
    heap.pause()  # two widgets warming up at once
    assert not gc.isenabled()
    heap.freeze()
    assert not gc.isenabled(), "the other warm-up is still loading"
    heap.freeze()
    assert gc.isenabled() and gc.get_freeze_count() > 0
    heap.release()
    assert gc.get_freeze_count() == 0


def test_warmup_freezes_and_a_removed_layer_is_still_freed(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((64, 64), np.float32), name="kept")
    viewer.add_image(np.zeros((64, 64), np.float32), name="gone")
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Train Noise2Same")
    qtbot.waitUntil(lambda: widget._warmup.done, timeout=60_000)
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0, "the warm-up should leave what it loaded out of later collections"
    gone = weakref.ref(viewer.layers["gone"])
    viewer.layers.remove("gone")
    assert gc.get_freeze_count() == 0, "removing a layer gives the frozen objects back to the collector"
    gc.collect()
    assert gone() is None, "a layer removed after the freeze must still be freed"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps")
def test_preloading_maps_torchs_libraries_before_torch_is_imported():
    code = (
        "import sys; from napari_noise2same.widgets.warmup import _dlopen, _preload_libraries\n"
        "assert _dlopen() is not None\n"
        "_preload_libraries()\n"
        "assert 'torch' not in sys.modules\n"
        "maps = open('/proc/self/maps').read()\n"
        "assert 'libtorch_cpu.so' in maps, 'libtorch_cpu.so was not loaded'\n"
        "import torch; torch.zeros(1)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_the_import_gate_holds_only_the_warmup_thread(monkeypatch):
    """While the GUI holds the gate, the warm-up thread sleeps (without the GIL) before its
    next import; any other thread imports straight away; and the gate never finds a module."""
    from napari_noise2same.widgets import warmup

    slept: list[tuple[str, float]] = []
    monkeypatch.setattr(warmup.time, "sleep", lambda s: slept.append((threading.current_thread().name, s)))
    readings = iter(np.arange(0.0, 10.0, 0.01))  # a clock that moves 10 ms at each reading
    monkeypatch.setattr(warmup.time, "perf_counter", lambda: float(next(readings)))
    gate = warmup._ImportGate()
    found = []

    def warmup_thread():
        gate.thread = threading.get_ident()
        gate.hold(0.05)
        found.append(gate.find_spec("some_module"))

    thread = threading.Thread(target=warmup_thread, name="warm-up")
    thread.start()
    thread.join()
    assert found == [None]
    assert len(slept) >= 3 and all(name == "warm-up" and 0 < s <= 0.005 for name, s in slept)
    slept.clear()
    gate.hold(0.05)
    assert gate.find_spec("some_module") is None
    assert slept == []  # this thread is not the warm-up's


def test_a_click_holds_the_warmup_then_leaves_it_time_to_redraw():
    from napari_noise2same.widgets import warmup

    w = warmup.TorchWarmup(lambda devices: None)
    with w.gui_first():
        assert w._gate._until - warmup.time.perf_counter() > warmup.REDRAW_S
    left = w._gate._until - warmup.time.perf_counter()
    assert 0 < left <= warmup.REDRAW_S


def test_train_is_enabled_once_torch_has_loaded(make_napari_viewer, qtbot):
    """Until the warm-up is done, Train is disabled and the status says why: a run started while
    torch's imports hold the GIL would stall the window right after the click."""
    from napari_noise2same.widgets.train import LOADING_TEXT, READY_TEXT

    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((64, 64), np.float32), name="cells")
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Train Noise2Same")
    assert not widget._warmup.done and not widget.train_button.enabled and widget.status.value == LOADING_TEXT
    qtbot.waitUntil(lambda: widget.train_button.enabled, timeout=60_000)
    assert widget._warmup.done and widget.status.value == READY_TEXT
