"""`make test` runs every app's tests: each folder with a tests/ package is in pytest's testpaths
(an app added or moved without it would have its tests silently left out of CI)."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_apps_tests_are_collected():
    testpaths = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"][
            "testpaths"
        ]
    )
    with_tests = {
        path.parent.parent.name
        for path in ROOT.glob("*/tests/__init__.py")
        if not path.parent.parent.name.startswith(".")
    }
    assert with_tests - {"tests"} <= testpaths, with_tests - testpaths
