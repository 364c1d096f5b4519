"""How responsive napari stays from opening the training widget to the denoised layer.

The main thread runs Qt's own event loop, as in napari.  A 10 ms QTimer ticks on it from
before the widget is opened (``add_plugin_dock_widget``, which imports the plugin) until the
denoised layer is in the viewer; Train is pressed ``--click-after`` seconds after the widget
opened (default 0.5 s: a user who knows what they want), or as soon as it is enabled if that
is later (Train waits for torch to load).  The gaps between ticks are the times
the GUI could not react.  A watchdog thread samples the main thread's stack whenever it has not
ticked for 40 ms, so each of the worst gaps comes with where the main thread was (the cause),
and every full garbage collection (which holds the GIL for its whole length) is timed.  The
worst gaps are reported over the whole run (opening the dock included: napari builds and lays
out the dock in one go), from the moment the dock is open, and from the click on.

    xvfb-run -a python benchmarks/gui_responsiveness.py --seconds 20 [--click-after 0.5] [--json out.json]

Several click times, several runs each (each run in a fresh process), and a table of the worst
gaps from the click on::

    xvfb-run -a python benchmarks/gui_responsiveness.py --seconds 8 --click-after 0.3 2 10 --runs 3
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import threading
import time
import traceback
from pathlib import Path

import numpy as np

STALL_S = 0.04  # the watchdog samples the main thread's stack when it has not ticked for this long


class Watchdog(threading.Thread):
    """Samples the main thread's innermost frames of our code and of libraries while it is stuck."""

    def __init__(self, main_ident: int):
        super().__init__(daemon=True, name="stall-watchdog")
        self.main_ident, self.last_tick, self.samples, self.running = main_ident, time.perf_counter(), [], True
        self.others: list[tuple[float, str, str]] = []

    def tick(self) -> None:
        self.last_tick = time.perf_counter()

    def run(self) -> None:
        while self.running:
            time.sleep(0.01)
            now = time.perf_counter()
            if now - self.last_tick > STALL_S:
                frames = sys._current_frames()
                frame = frames.get(self.main_ident)
                if frame is not None:
                    stack = traceback.extract_stack(frame)
                    self.samples.append((now, [f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in stack[-12:]]))
                # the other threads (one of them may hold the GIL): where each was when we got it
                names = {t.ident: t.name for t in threading.enumerate()}
                for ident, other in frames.items():
                    if ident not in (self.main_ident, threading.get_ident()):
                        top = traceback.extract_stack(other)[-3:]
                        self.others.append(
                            (
                                now,
                                names.get(ident, "?"),
                                " < ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(top)),
                            )
                        )


class FullCollections:
    """(start, ms, thread) of every collection of the oldest generation, from gc.callbacks."""

    def __init__(self):
        self.started: dict[int, float] = {}
        self.done: list[tuple[float, float, str]] = []
        gc.callbacks.append(self)

    def __call__(self, phase: str, info: dict) -> None:
        if info["generation"] != 2:
            return
        ident = threading.get_ident()
        if phase == "start":
            self.started[ident] = time.perf_counter()
        elif ident in self.started:
            start = self.started.pop(ident)
            self.done.append((start, 1000 * (time.perf_counter() - start), threading.current_thread().name))


def where(samples, start: float, end: float) -> str:
    """The deepest frames seen most often while the main thread was stuck between start and end."""
    inside = [s for t, s in samples if start <= t <= end]
    if not inside:
        return "(not sampled)"
    counts: dict[tuple, int] = {}
    for stack in inside:
        key = tuple(stack[-4:])
        counts[key] = counts.get(key, 0) + 1
    top = max(counts, key=counts.get)
    return " < ".join(reversed(top))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=20.0, help="training time budget (default 20)")
    p.add_argument(
        "--click-after",
        type=float,
        nargs="+",
        default=[0.5],
        help="seconds from opening the widget to Train (several: one run each, in fresh processes)",
    )
    p.add_argument("--runs", type=int, default=1, help="runs per --click-after value, each in a fresh process")
    p.add_argument("--preset", help="network (default: auto)")
    p.add_argument("--json", help="write the gaps and their causes here")
    args = p.parse_args()
    if len(args.click_after) > 1 or args.runs > 1:
        return summarise_runs(args)
    args.click_after = args.click_after[0]

    import napari
    from qtpy.QtCore import QEventLoop, QTimer

    from napari_noise2same.examples import noisy_cell

    viewer = napari.Viewer(show=True)
    noisy, _ = noisy_cell()
    viewer.add_image(noisy, name="noisy cell")
    watchdog = Watchdog(threading.get_ident())
    collections = FullCollections()
    ticks: list[float] = []

    def on_tick():
        ticks.append(time.perf_counter())
        watchdog.tick()

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(on_tick)
    marks: dict[str, float] = {}
    state: dict = {}

    def open_widget():
        marks["open"] = time.perf_counter()
        _, widget = viewer.window.add_plugin_dock_widget("napari-noise2same", "Train Noise2Same")
        marks["opened"] = time.perf_counter()
        if args.preset:
            widget.preset.value = args.preset
        widget.max_minutes.value = args.seconds / 60
        state["widget"] = widget
        QTimer.singleShot(int(args.click_after * 1000), click)

    def click():
        if not state["widget"].train_button.enabled:  # as a user: pressed as soon as it can be (torch loading)
            marks.setdefault("click_wanted", time.perf_counter())
            QTimer.singleShot(20, click)
            return
        marks["click"] = time.perf_counter()
        state["widget"].train_button.clicked.emit()
        marks["clicked"] = time.perf_counter()

    loop = QEventLoop()
    done = QTimer()
    done.setInterval(50)

    def check_done():
        w = state.get("widget")
        if w is not None and "clicked" in marks and not w.busy and time.perf_counter() - marks["clicked"] > 1:
            loop.quit()

    done.timeout.connect(check_done)
    timer.start()
    done.start()
    watchdog.start()
    t0 = time.perf_counter()
    QTimer.singleShot(300, open_widget)  # the event loop runs a moment before the user opens the widget
    loop.exec()
    timer.stop()
    watchdog.running = False
    gaps = np.diff(ticks)
    after_open = np.asarray(ticks[:-1]) >= marks["opened"]
    w = state["widget"]
    waited = marks["click"] - marks.get("click_wanted", marks["click"])
    wanted = f" (wanted {waited:.2f} s earlier: Train waited for torch)" if waited else ""
    print(
        f"widget opened in {1000 * (marks['opened'] - marks['open']):.0f} ms; Train pressed "
        f"{marks['click'] - marks['opened']:.2f} s after{wanted}, "
        f"handled in {1000 * (marks['clicked'] - marks['click']):.0f} ms"
    )
    print(
        f"preset {w.trainer.config.preset}: {w.trainer.step} steps in {args.seconds:g} s of training, then the "
        f"denoised layer; {len(ticks)} ticks of 10 ms"
    )
    print(
        f"main-thread gaps: median {1000 * np.median(gaps):.1f} ms, 99th percentile "
        f"{1000 * np.percentile(gaps, 99):.1f} ms, longest {1000 * gaps.max():.1f} ms"
    )
    worst = {}
    after_click = np.asarray(ticks[1:]) > marks["click"]  # the gap the click falls in counts: the user felt it
    for label, candidates in (
        ("whole run", np.ones_like(after_open)),
        ("from the open dock on", after_open),
        ("from the click on", after_click),
    ):
        order = [i for i in np.argsort(gaps)[::-1] if candidates[i]][:3]
        print(f"three worst gaps, {label}:")
        worst[label] = []
        for i in order:
            start, end = ticks[i], ticks[i + 1]
            cause = where(watchdog.samples, start, end)
            busy = sorted({f"{name}: {stack}" for t, name, stack in watchdog.others if start <= t <= end + 0.02})
            if busy and ("main <" in cause or cause == "(not sampled)"):  # main thread idle in Qt: the GIL elsewhere
                cause += " | other threads: " + "; ".join(busy[:3])
            full = [f"{ms:.0f} ms in {name}" for t, ms, name in collections.done if start - 0.01 <= t <= end]
            if full:
                cause += " | full garbage collection: " + ", ".join(full)
            at = round(start - marks["open"], 2)
            worst[label].append({"ms": round(1000 * (end - start), 1), "at_s_after_open": at, "cause": cause})
            print(f"  {1000 * (end - start):6.1f} ms at {start - marks['open']:6.2f} s after opening: {cause}")
    gc.callbacks.remove(collections)
    print(
        f"full garbage collections: {len(collections.done)}, longest "
        f"{max((ms for _, ms, _ in collections.done), default=0):.0f} ms"
    )
    # the floor for any plugin that returns a layer: napari itself adding one of the same size
    from qtpy.QtWidgets import QApplication

    start = time.perf_counter()
    viewer.add_image(np.zeros_like(noisy), name="reference layer")
    QApplication.processEvents()
    bare_ms = 1000 * (time.perf_counter() - start)
    print(f"napari alone adding a {noisy.shape[0]}x{noisy.shape[1]} image layer (and drawing it): {bare_ms:.0f} ms")
    warm = w._warmup.timings
    print("torch warm-up (s after opening):", ", ".join(f"{name} {t - marks['open']:.2f}" for name, t in warm))
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "marks": {k: v - t0 for k, v in marks.items()},
                    "worst": worst,
                    "napari_add_image_ms": round(bare_ms, 1),
                    "full_collections_ms": [round(ms, 1) for _, ms, _ in collections.done],
                    "gaps_ms": [round(1000 * g, 1) for g in gaps],
                },
                indent=1,
            )
        )
    viewer.close()
    return 0


def summarise_runs(args) -> int:
    """Each (click time, run) in a fresh process; then the worst gaps from the click on."""
    import subprocess
    import tempfile

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for after in args.click_after:
            for run in range(args.runs):
                out = Path(tmp) / f"{after}_{run}.json"
                cmd = [sys.executable, __file__, "--seconds", str(args.seconds), "--click-after", str(after)]
                cmd += ["--json", str(out)] + (["--preset", args.preset] if args.preset else [])
                subprocess.run(cmd, check=True)
                r = json.loads(out.read_text())
                m = r["marks"]
                rows.append(
                    {
                        "click_after_s": after,
                        "run": run,
                        "waited_for_torch_s": round(m["click"] - m.get("click_wanted", m["click"]), 2),
                        "worst_from_click": r["worst"]["from the click on"],
                        "worst_from_open": r["worst"]["from the open dock on"],
                        "napari_add_image_ms": r["napari_add_image_ms"],
                    }
                )
    print("\n| click after | run | waited for torch | worst gaps from the click on (ms: cause) | napari adds a layer |")
    print("| --- | --- | --- | --- | --- |")
    for r in rows:
        gaps = "; ".join(f"{g['ms']:.0f}: {g['cause'][:90]}" for g in r["worst_from_click"])
        print(f"| {r['click_after_s']:g} s | {r['run']} | {r['waited_for_torch_s']:.2f} s | {gaps} | "
              f"{r['napari_add_image_ms']:.0f} ms |")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
