"""Packaging: every package is listed for the wheel, model files ship as package data, the
built-in circuits and protocols are found through the entry point."""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

from bioattn import config

REPO = Path(__file__).resolve().parents[1]


def test_every_package_under_bioattn_is_listed_for_the_wheel():
    listed = set(
        tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(path.parent.relative_to(REPO).parts)
        for path in (REPO / "bioattn").rglob("__init__.py")
    }
    assert found | {"bioattn.models"} == listed


def test_model_files_are_package_data_of_bioattn_models():
    data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert data["package-dir"]["bioattn.models"] == "models"
    assert data["package-data"]["bioattn.models"] == ["*.toml"]
    assert config.models_dir().resolve() == (REPO / "models").resolve()  # editable install here


def test_plugins_entry_point_registers_the_circuits_and_protocols():
    (entry,) = [e for e in importlib.metadata.entry_points(group=config.PLUGIN_GROUP)
                if e.name == "builtin"]  # fmt: skip
    assert entry.value == "bioattn.plugins"
    config.load_plugins()
    assert {"two_area", "multi_item"} <= set(config.CIRCUITS)
    assert {"feature_attention", "visual_search"} <= set(config.PROTOCOL_SECTIONS)


def test_every_protocol_run_has_a_docstring():
    from bioattn.protocols.registry import PROTOCOLS

    config.load_plugins()
    missing = [name for name, p in PROTOCOLS.items() if len((p.run.__doc__ or "").strip()) < 40]
    assert missing == []
