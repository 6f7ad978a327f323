"""The example third-party connector (examples/carbonhub-connector-greenmiles) works as shipped.

Installing it into a fresh virtualenv would take minutes, so this module checks the two things an
installation relies on: its ``pyproject.toml`` declares a ``carbonhub.connectors`` entry point
the registry can load, and its own conformance test class passes (collected here by subclassing).
"""

from __future__ import annotations

import importlib.util
import sys
import tomllib
from importlib.metadata import EntryPoint
from pathlib import Path
from types import ModuleType

import pytest

from carbonhub.connectors.registry import GROUP, load

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "carbonhub-connector-greenmiles"


def _example_tests() -> ModuleType:
    """The example's tests/test_conformance.py, imported with the example's src on sys.path."""
    sys.path.insert(0, str(EXAMPLE / "src"))
    try:
        spec = importlib.util.spec_from_file_location(
            "greenmiles_example_conformance", EXAMPLE / "tests" / "test_conformance.py"
        )
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(EXAMPLE / "src"))


def _declared_entry_points() -> list[EntryPoint]:
    pyproject = tomllib.loads((EXAMPLE / "pyproject.toml").read_text(encoding="utf-8"))
    declared = pyproject["project"]["entry-points"][GROUP]
    return [EntryPoint(name, value, GROUP) for name, value in declared.items()]


class TestGreenMilesExampleConformance(_example_tests().TestGreenMilesConformance):
    """The example's own conformance class, run as part of carbonhub's suite."""


def test_given_the_example_pyproject_then_the_registry_loads_its_entry_point(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.syspath_prepend(str(EXAMPLE / "src"))
    (entry_point,) = _declared_entry_points()

    loaded = load(entry_point, {"base_url": "https://api.greenmiles.example"})

    assert loaded.info.slug == entry_point.name == "greenmiles"
    assert loaded.info.push
    assert loaded.offline().oauth() is not None


def test_given_the_example_pyproject_then_its_wheel_can_be_built_with_the_entry_point_package() -> (
    None
):
    pyproject = tomllib.loads((EXAMPLE / "pyproject.toml").read_text(encoding="utf-8"))
    (entry_point,) = _declared_entry_points()

    packages = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]

    assert [Path(p).name for p in packages] == [entry_point.module.split(".")[0]]
    assert all((EXAMPLE / p / "__init__.py").is_file() for p in packages)
    assert "carbonhub" in " ".join(pyproject["project"]["dependencies"])
    assert (EXAMPLE / pyproject["project"]["readme"]).is_file(), (
        "hatchling refuses a missing readme"
    )
