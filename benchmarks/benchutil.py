"""What the benchmark scripts share: peak memory, a measurement run in its own process, and the
line that says on what machine a figure was taken.

Imported as ``benchutil`` (a script's own folder is first on ``sys.path``).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def peak_rss_mb() -> float:
    """VmHWM: this process's peak RSS in MiB. (ru_maxrss would include the parent's peak: Linux
    keeps it across fork and exec; it is only the fallback where /proc is missing.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # pragma: no cover


def run_child(script: str, kind: str, target: Path) -> dict:
    """Run ``script --child KIND TARGET`` in a fresh interpreter (so one measurement's memory
    cannot hide in another's); the JSON object its last output line prints."""
    cmd = [sys.executable, script, "--child", kind, str(target)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return json.loads(out.strip().splitlines()[-1])


def machine_line() -> str:
    """Python version, CPUs and load: a figure means little without them."""
    return f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"
