"""The README's dask-jobqueue (SLURM) set-up builds a job script whose workers preload Brian2."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_slurm_setup_writes_a_worker_script_with_the_preload():
    pytest.importorskip("dask_jobqueue")
    text = README.read_text(encoding="utf-8")
    block = re.search(r"```python\n(from dask.distributed import Client.*?)```", text, re.S)
    assert block, "no dask-jobqueue block in README.md"
    setup = block.group(1).split("cluster.scale")[0]  # everything but submitting jobs
    namespace: dict = {}
    exec(setup, namespace)  # noqa: S102
    cluster = namespace["cluster"]
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    assert "--preload bioattn.sweep.runner" in script
    assert "--nthreads 1" in script
    import bioattn.sweep.runner as runner

    assert callable(runner.dask_setup)
