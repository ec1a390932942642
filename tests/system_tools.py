"""System tools the tests need, installed by the test setup (never by a test), found by the tests.

``install_missing`` runs once when pytest starts (``tests/conftest.py``): apt packages are installed with
``apt-get install -y`` when running as root, Ace by DAISY and axe-core with npm into
``~/.cache/qaexport-test-tools`` (Puppeteer's own browser download is skipped: Ace drives the system Chromium),
and the other releases of WeasyPrint and Pygments that pyproject.toml allows (each tested beside the installed one)
with pip into the same cache. A later run finds them there; that is the only time the test suite may reach the
network. A test that needs a tool the setup could not install
fails, with the command that installs it: a real-tool test never passes by skipping its tool.
"""

from __future__ import annotations

import functools
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CACHE = Path(os.environ.get("QAEXPORT_TEST_TOOLS", Path.home() / ".cache" / "qaexport-test-tools"))
ACE_VERSION = "1.4.6"
AXE_CORE_VERSION = "4.11.0"
_PUPPETEER = {"PUPPETEER_SKIP_DOWNLOAD": "1"}


@dataclass(frozen=True)
class Package:
    """An npm package installed into its own folder of the tools cache."""

    spec: str
    prefix: Path
    entry: str  # the file that shows it is installed, relative to the prefix

    @property
    def path(self) -> Path:
        return self.prefix / self.entry

    @property
    def command(self) -> str:
        return f"PUPPETEER_SKIP_DOWNLOAD=1 npm install --no-audit --no-fund --prefix {self.prefix} {self.spec}"


#: command → Debian package
APT = {"chromium": "chromium", "java": "default-jre-headless", "npm": "npm"}
ACE = Package(f"@daisy/ace-cli@{ACE_VERSION}", CACHE / "ace", "node_modules/.bin/ace-cli")
AXE_CORE = Package(f"axe-core@{AXE_CORE_VERSION}", CACHE / f"axe-core-{AXE_CORE_VERSION}",
                   "node_modules/axe-core/axe.min.js")


#: Bounds of the setup's installs (seconds): a fresh CI machine installs everything well within them; a network
#: that stalls fails the setup with a line instead of hanging the run.
APT_UPDATE_TIMEOUT, APT_INSTALL_TIMEOUT, NPM_TIMEOUT = 300, 900, 600
_QUIET = {"DEBIAN_FRONTEND": "noninteractive", "NPM_CONFIG_UPDATE_NOTIFIER": "false"}


def _run(command: list[str], timeout: float, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run an install step without a terminal to ask questions on, bounded: (exit code, its last output)."""
    try:
        proc = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=timeout,
                              env={**os.environ, **_QUIET, **(env or {})})
    except subprocess.TimeoutExpired:
        return -1, f"no end after {timeout:.0f} s"
    return proc.returncode, (proc.stderr or proc.stdout).strip()[-300:]


def install_missing() -> list[str]:
    """Install every missing tool (the test setup); returns what could not be installed, one line each."""
    problems = []
    missing = [name for name in APT if shutil.which(name) is None]
    if missing:
        packages = [APT[name] for name in missing]
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            problems.append(f"not root: install {', '.join(missing)} with: apt-get install -y {' '.join(packages)}")
        else:
            _run(["apt-get", "update", "-q"], APT_UPDATE_TIMEOUT)
            code, said = _run(["apt-get", "install", "-y", "-q", *packages],
                              APT_INSTALL_TIMEOUT)
            if code:
                problems.append(f"apt-get install -y {' '.join(packages)} failed: {said}")
    for requirement in python_releases():
        try:
            python_release(requirement)
        except (AssertionError, OSError, subprocess.TimeoutExpired) as exc:
            problems.append(f"{exc}".splitlines()[0][:300])
    for package in (ACE, AXE_CORE):
        npm = shutil.which("npm")
        if package.path.exists() or npm is None:
            continue
        package.prefix.mkdir(parents=True, exist_ok=True)
        code, said = _run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(package.prefix), package.spec],
                          NPM_TIMEOUT, _PUPPETEER)
        if not package.path.exists():
            problems.append(f"{package.command} failed: {said}")
    return problems


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

def python_releases() -> list[str]:
    """The releases of the libraries qaexport reaches into (WeasyPrint, Pygments) that pyproject.toml allows and
    that are not the installed one: tests/test_weasy_ua.py and tests/test_lexing.py run each beside this one."""
    import pygments
    import weasyprint

    from qaexport.render.lexing import TESTED_PYGMENTS
    from qaexport.weasy.compat import TESTED

    wanted = [f"weasyprint=={major}.*" for major in TESTED if not weasyprint.__version__.startswith(f"{major}.")]
    wanted += [f"pygments==2.{minor}.*" for minor in range(TESTED_PYGMENTS[0][1], TESTED_PYGMENTS[1][1] + 1)
               if not pygments.__version__.startswith(f"2.{minor}.")]
    return wanted


def _missing(what: str, command: str) -> None:
    pytest.fail(f"{what} is not installed (the test setup installs it when it can); install it with: {command}",
                pytrace=False)


@functools.cache
def tool(name: str) -> str:
    """Path of a system tool the setup installs; the test fails with the install command when it is missing."""
    found = shutil.which(name)
    if not found:
        _missing(name, f"apt-get install -y {APT[name]}")
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


_RESULT = re.compile(r'<pre id="qaexport-probe">(.*?)</pre>', re.S)
#: Appended to a probed page: runs ``probe()`` (defined by the caller's script) and leaves its JSON in the DOM.
_LEAVE_RESULT = """
const el = document.createElement("pre"); el.id = "qaexport-probe"; el.textContent = JSON.stringify(probe());
document.body.appendChild(el);
"""


def chromium_probe(page: Path, script: str, width: int = 360, height: int = 900) -> Any:
    """Open ``page`` (a file whose ``</body>`` gets ``script`` and a call of its ``probe()`` function) in headless
    Chromium at ``width`` CSS px, and return what ``probe()`` returned (JSON)."""
    text = page.read_text(encoding="utf-8")
    probed = page.with_name(page.stem + ".probe" + page.suffix)
    tag = "</body>"
    assert tag in text, f"{page} has no </body>"
    probed.write_text(text.replace(tag, f"<script>{script}{_LEAVE_RESULT}</script>{tag}", 1), encoding="utf-8")
    with tempfile.TemporaryDirectory() as profile:
        dom = chromium_dump_dom(probed, Path(profile), f"--window-size={width},{height}",
                                "--virtual-time-budget=3000")
    probed.unlink()
    found = _RESULT.search(dom)
    assert found, dom[-2000:]
    return json.loads(html.unescape(found.group(1)))


def chromium_screenshot(page: Path, png: Path, width: int = 360, height: int = 900) -> Path:
    """A picture of ``page`` as a ``width`` px wide screen shows it (to look at, not to compare)."""
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        f"--user-data-dir={profile}", "--hide-scrollbars=false", f"--window-size={width},{height}",
                        f"--screenshot={png}", page.as_uri()], capture_output=True, timeout=120, check=True)
    return png


def ace() -> tuple[list[str], dict[str, str]]:
    """Ace by DAISY's command line (``@daisy/ace-cli``, Puppeteer runner) and the environment that points it at
    the system Chromium."""
    browser = chromium()
    if not ACE.path.exists():
        _missing("Ace by DAISY", ACE.command)
    return [str(ACE.path)], {**os.environ, **_PUPPETEER, "PUPPETEER_EXECUTABLE_PATH": browser}


def axe_core() -> Path:
    """axe-core's browser bundle (``axe.min.js``)."""
    if not AXE_CORE.path.exists():
        _missing("axe-core", AXE_CORE.command)
    return AXE_CORE.path


def ace_violations(epub: Path) -> list[str]:
    """Every violation Ace by DAISY reports on ``epub``, one line each (empty: none)."""
    command, env = ace()
    with tempfile.TemporaryDirectory() as report_dir:
        proc = subprocess.run([*command, "--force", "--silent", "--outdir", report_dir, str(epub)],
                              capture_output=True, text=True, env=env, timeout=600)
        report_path = Path(report_dir) / "report.json"
        assert report_path.exists(), proc.stdout + proc.stderr
        report = json.loads(report_path.read_text())
    found = []
    for subject in report["assertions"]:
        for assertion in subject["assertions"]:
            test = assertion["earl:test"]
            found.append(f"{subject['earl:testSubject']['url']}: {test['earl:impact']} {test['dct:title']}: "
                         f"{assertion['earl:result'].get('dct:description', '')[:160]}")
    return found
