"""Shared fixtures: the bundled sample, and artefacts built once per session (real tools are slow)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from qaexport import sources

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "fastapi-deployment.json"


@pytest.fixture(autouse=True)
def _own_render_cache(tmp_path_factory, monkeypatch) -> None:
    """Every test gets an empty render cache of its own: never the user's, never another test's."""
    monkeypatch.setenv("QAEXPORT_CACHE_DIR", str(tmp_path_factory.mktemp("render-cache")))


@pytest.fixture(scope="session")
def sample_path() -> Path:
    return SAMPLE


@pytest.fixture(scope="session")
def sample_library():
    return sources.load([SAMPLE])


@pytest.fixture()
def sample_copy(tmp_path: Path) -> Path:
    return Path(shutil.copy(SAMPLE, tmp_path / "bank.json"))
