"""System tools the tests need, installed by the test setup when they are missing.

apt packages are installed with ``apt-get install -y`` when running as root; Ace by DAISY is installed with npm
into ``~/.cache/qaexport-test-tools`` (Puppeteer's own browser download is skipped: Ace drives the system
Chromium). A tool that cannot be had skips the test with the reason printed.
"""

from __future__ import annotations

import functools
import html
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

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
