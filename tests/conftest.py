"""Shared fixtures: the bundled sample, and artefacts built once per session (real tools are slow)."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from qaexport import sources

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "fastapi-deployment.json"


def pytest_sessionstart(session: pytest.Session) -> None:
    """The test setup: the system tools real-tool tests drive are installed here, once, when missing (the only
    time the suite may reach the network); a tool that cannot be installed is named, and its tests fail. And the
    stop signals as a terminal gives them (:func:`_stop_signals_as_a_terminal_gives_them`)."""
    from tests.system_tools import install_missing

    _stop_signals_as_a_terminal_gives_them()

    for problem in install_missing():
        print(f"test setup: {problem}")


def _stop_signals_as_a_terminal_gives_them() -> None:
    """SIGINT handled as Python handles it and SIGTERM/SIGHUP at their defaults, in this process and so in every
    command a test starts, when the suite was started with them ignored: a CI runner or a script that starts it as a
    background job (``cmd &`` in a non-interactive shell ignores SIGINT and SIGQUIT). qaexport rightly keeps a stop
    signal ignored that it was started with ignored (``qaexport.stops.in_command``, as Python keeps SIGINT), so the
    tests that play a terminal's Ctrl-C need the terminal's dispositions, whoever started the suite."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None and signal.getsignal(sig) is signal.SIG_IGN:
            signal.signal(sig, signal.SIG_DFL)


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


@pytest.fixture(scope="session", autouse=True)
def _session_font_store(tmp_path_factory) -> Iterator[None]:
    """The static font instances (books/instances.py) go to a store of the session's own, never the user's: made
    once per session (about a second of CPU), shared by every test and every process a test starts."""
    from qaexport.books import instances

    old = os.environ.get("QAEXPORT_FONT_DIR")
    store = tmp_path_factory.mktemp("font-store")
    os.environ["QAEXPORT_FONT_DIR"] = str(store)  # the processes a test starts (their CLI reads it)
    instances.use_store(store)  # layouts called in the test's own process, not through the CLI
    yield
    instances.use_store(None)
    if old is None:
        os.environ.pop("QAEXPORT_FONT_DIR", None)
    else:
        os.environ["QAEXPORT_FONT_DIR"] = old


@pytest.fixture(scope="session", autouse=True)
def _session_state_dir(tmp_path_factory) -> Iterator[None]:
    """Never touch the user's own state folder (the Anki note-time ledger): module fixtures share one."""
    old = os.environ.get("QAEXPORT_STATE_DIR")
    os.environ["QAEXPORT_STATE_DIR"] = str(tmp_path_factory.mktemp("state"))
    yield
    if old is None:
        os.environ.pop("QAEXPORT_STATE_DIR", None)
    else:
        os.environ["QAEXPORT_STATE_DIR"] = old


@pytest.fixture(autouse=True)
def state_dir(tmp_path_factory, monkeypatch) -> Path:
    """Each test its own state folder (outside ``tmp_path``, which tests list), so ledgers never leak."""
    folder = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("QAEXPORT_STATE_DIR", str(folder))
    return folder


@pytest.fixture()
def cffi_parses(monkeypatch) -> list[str]:
    """The C type strings cffi parses one by one from now on (the tests of ``weasy/compat.py``'s open arrays and of
    ``weasy/compat_cffi.py``: what WeasyPrint would otherwise parse while a booklet is written)."""
    import cffi.cparser

    parsed: list[str] = []
    original = cffi.cparser.Parser.parse_type

    def spy(self, cdecl):
        parsed.append(cdecl)
        return original(self, cdecl)

    monkeypatch.setattr(cffi.cparser.Parser, "parse_type", spy)
    return parsed
