"""System tools the tests need, installed by the test setup when they are missing.

apt packages are installed with ``apt-get install -y`` when running as root; Ace by DAISY is installed with npm
into ``~/.cache/qaexport-test-tools`` (Puppeteer's own browser download is skipped: Ace drives the system
Chromium). A tool that cannot be had skips the test with the reason printed. Other releases of a Python library
(WeasyPrint, Pygments: the ranges pyproject.toml allows) are installed with pip into the same cache once and reused
by every later run.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

CACHE = Path(os.environ.get("QAEXPORT_TEST_TOOLS", Path.home() / ".cache" / "qaexport-test-tools"))
ACE_VERSION = "1.4.6"
AXE_CORE_VERSION = "4.11.0"


def _skip(reason: str) -> None:
    print(f"skipping: {reason}")
    pytest.skip(reason)


@functools.cache
def tool(name: str, apt_package: str | None = None) -> str:
    """Path of a system tool, installing its Debian package when missing and running as root."""
    found = shutil.which(name)
    if found:
        return found
    package = apt_package or name
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        _skip(f"{name} is not installed and cannot be installed here; install it with: apt-get install {package}")
    subprocess.run(["apt-get", "update", "-q"], capture_output=True, timeout=600)
    proc = subprocess.run(["apt-get", "install", "-y", "-q", package], capture_output=True, text=True, timeout=1200)
    found = shutil.which(name)
    if not found:
        _skip(f"apt-get install {package} failed: {proc.stderr.strip()[-300:]}")
    return found


def chromium() -> str:
    return tool("chromium")


def chromium_dump_dom(page: Path, profile: Path, *flags: str) -> str:
    """The DOM of ``page`` after its scripts ran, from headless Chromium (closed to the network)."""
    proc = subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--disable-background-networking", "--disable-component-update", "--disable-sync",
                           f"--user-data-dir={profile}", *flags, "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    return proc.stdout if proc.stdout.strip() else proc.stderr[-500:]


@functools.cache
def ace() -> tuple[list[str], dict[str, str]]:
    """Ace by DAISY's command line (``@daisy/ace-cli``, Puppeteer runner) and the environment that points it at
    the system Chromium."""
    browser = chromium()
    env = {**os.environ, "PUPPETEER_SKIP_DOWNLOAD": "1", "PUPPETEER_EXECUTABLE_PATH": browser}
    prefix = CACHE / "ace"
    binary = prefix / "node_modules" / ".bin" / "ace-cli"
    if not binary.exists():
        npm = tool("npm")
        prefix.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(prefix),
                               f"@daisy/ace-cli@{ACE_VERSION}"], capture_output=True, text=True, env=env, timeout=900)
        if not binary.exists():
            _skip(f"npm install @daisy/ace-cli failed: {(proc.stderr or proc.stdout).strip()[-300:]}")
    return [str(binary)], env


@functools.cache
def axe_core() -> Path:
    """axe-core's browser bundle (``axe.min.js``), installed with npm into the tools cache on first use."""
    prefix = CACHE / f"axe-core-{AXE_CORE_VERSION}"
    script = prefix / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        npm = tool("npm")
        prefix.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(prefix),
                               f"axe-core@{AXE_CORE_VERSION}"], capture_output=True, text=True, timeout=600)
        if not script.exists():
            _skip(f"npm install axe-core failed: {(proc.stderr or proc.stdout).strip()[-300:]}")
    return script


def python_release(requirement: str) -> Path:
    """A folder holding ``requirement`` (``"weasyprint==68.*"``, without its dependencies: the installed ones
    serve), to put first on ``PYTHONPATH``. Installed with pip into the tools cache on the first run (PyPI),
    reused as it is by every later one: a run needs no network once the cache holds it.

    The install goes to a temporary folder renamed into place when pip has finished, so an interrupted install
    leaves nothing a later run would take for complete, and runs at the same time (worktrees, CI jobs) each end
    with one complete folder.
    """
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in requirement.replace("==", "-").replace("*", "x"))
    target = CACHE / "python" / name
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    try:
        proc = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                               "--timeout", "60", "--retries", "2", "--no-deps", "--target", str(staging),
                               requirement], capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"pip install {requirement} failed (PyPI is needed once): {proc.stderr[-1000:]}"
        try:
            staging.rename(target)
        except OSError:  # another run put it there first
            if not target.is_dir():
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target
