"""The README's Python API example runs as written (on the real, scaled circuit)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _api_example() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Python API", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "no python block under '## Python API' in README.md"
    return match.group(1)


def test_readme_starts_with_exactly_two_commands():
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    first, second = blocks[0].strip(), blocks[1].strip()
    assert "\n" not in first and "\n" not in second
    assert "pip install ." in first and "bioattn run" in first
    assert '".[test]"' in second and "pytest" in second
    test_command = second.split("activate && ", 1)[1]  # the same command in CI's own venv
    assert test_command in (README.parent / ".ci" / "run").read_text()


def test_readme_api_example_runs(tmp_path, monkeypatch):
    """...and, with two seeds, reports every metric's interval over seeds (each seed analysed
    alone), simulating each seed once."""
    from bioattn.engine import engine_for

    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    runs_before = engine_for().runs
    exec(compile(_api_example(), str(README), "exec"), namespace)  # noqa: S102
    run = namespace["run"]
    assert engine_for().runs - runs_before == 2
    assert run.summary["delay_bump_amplitude_hz"] > 0
    assert (tmp_path / "results" / "wm-api" / "results.nc").is_file()
    assert run.provenance["seeds"] == [1, 2]
    assert run.summary["ci_n"] == 2 and run.summary["ci_method"] == "Student t over seeds"
    low, high = run.summary["delay_bump_amplitude_hz_ci"]
    assert low < high
    # The pooled metric (mean over trials of both seeds) lies inside the per-seed interval.
    assert low <= run.summary["delay_bump_amplitude_hz"] <= high
