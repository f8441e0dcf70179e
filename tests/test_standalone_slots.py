"""cpp_standalone project directories: reused within a process, exclusive across processes."""

from __future__ import annotations

import subprocess
import sys
import time

from bioattn.engine import standalone_directory

HOLD_SLOT = """
import sys, time
from bioattn.engine import standalone_directory
print(standalone_directory(sys.argv[1]), flush=True)
time.sleep(30)
"""


def test_same_process_reuses_its_slot(tmp_path):
    assert standalone_directory(tmp_path) == standalone_directory(tmp_path)


def test_concurrent_processes_get_different_slots(tmp_path):
    root = tmp_path / "cache"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_SLOT, str(root)], stdout=subprocess.PIPE, text=True
    )
    try:
        held = holder.stdout.readline().strip()
        assert held.endswith("slot0")
        mine = standalone_directory(root)
        assert mine.name == "slot1"
    finally:
        holder.kill()
        holder.wait()
    # once the other process is gone its slot is free again for a new process
    deadline = time.time() + 10
    out = ""
    while time.time() < deadline and not out.endswith("slot0"):
        probe = subprocess.run(
            [sys.executable, "-c", HOLD_SLOT.replace("time.sleep(30)", ""), str(root)],
            capture_output=True,
            text=True,
            check=True,
        )
        out = probe.stdout.strip()
    assert out.endswith("slot0")
