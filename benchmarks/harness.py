"""What every benchmark shares: the machine's facts, fresh child processes, memory, JSON output.

Each benchmark script imports this module (``from harness import ...``) and the datasets from
``shared_data.py``; no script imports another.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_facts(device: str | None = None) -> dict:
    """What the figures depend on: CPU, cores, memory, torch and its threads, device, load."""
    import psutil
    import torch

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    facts = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cpu": cpu_model(),
        "logical_cores": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "usable_cores": usable,
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "onednn": bool(torch.backends.mkldnn.is_available()),
        "cuda_available": torch.cuda.is_available(),
        "device": device,
        "load_average_1_5_15": [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None,
    }
    if device and device.startswith("cuda"):
        index = torch.device(device).index or 0
        facts["gpu"] = torch.cuda.get_device_name(index)
        facts["gpu_memory_gib"] = round(torch.cuda.get_device_properties(index).total_memory / 2**30, 1)
    return facts


def print_facts(facts: dict) -> None:
    print(
        f"machine: {facts['cpu']}, {facts['logical_cores']} logical / {facts['physical_cores']} physical cores "
        f"({facts['usable_cores']} usable), {facts['memory_gib']} GiB"
    )
    print(
        f"python {facts['python']}, torch {facts['torch']} with {facts['torch_threads']} intra-op / "
        f"{facts['torch_interop_threads']} inter-op threads, oneDNN {facts['onednn']}, "
        f"device {facts['device']}" + (f" ({facts['gpu']}, {facts['gpu_memory_gib']} GiB)" if facts.get("gpu") else "")
    )
    load = facts.get("load_average_1_5_15")
    if load:
        busy = load[0] > 0.5
        print(
            f"load average {load[0]} / {load[1]} / {load[2]}"
            + ("  <- other processes use the CPU: timings are not representative" if busy else "")
        )


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (MiB).

    On Linux from VmHWM, which starts afresh at exec; ``ru_maxrss`` would not do for a child
    process, as Linux carries it over from the parent through fork and exec.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    if sys.platform == "win32":
        import psutil

        return psutil.Process().memory_info().peak_wset / 2**20
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def rss_mib() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def resolve_device_name(name: str) -> str:
    from napari_noise2same.engine.devices import resolve_device

    return str(resolve_device(name))


def child_env(wait_policy: str | None) -> dict | None:
    """The environment of a child with OMP_WAIT_POLICY set (None or "default": inherited)."""
    if not wait_policy or wait_policy == "default":
        return None
    return {**os.environ, "OMP_WAIT_POLICY": wait_policy.upper()}


def run_child(script: str, spec: dict, timeout: float | None = None, env: dict | None = None) -> dict:
    """Run ``script --child SPEC`` in a fresh interpreter; its last stdout line is JSON."""
    cmd = [sys.executable, script, "--child", json.dumps(spec)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        return {"error": (proc.stderr.strip().splitlines() or ["no output"])[-1], "stderr": proc.stderr[-3000:]}
    return json.loads(lines[-1])


def write_json(path: str | None, payload: dict) -> None:
    if path:
        Path(path).write_text(json.dumps(payload, indent=2))
        print(f"\nwrote {path}")


def fmt(value, spec: str, empty: str = "") -> str:
    return empty if value is None else format(value, spec)
