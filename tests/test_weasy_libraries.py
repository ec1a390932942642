"""WeasyPrint's C libraries opened by their file names while it loads (weasy/compat_libraries.py): no search through
``ldconfig``/``gcc``, the same library files, and the ordinary import where the shortcut does not apply."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: Run in a fresh interpreter: counts the searches ``ctypes.util.find_library`` is asked for, imports WeasyPrint
#: (``HOW``: through qaexport, or plainly), and prints the count, whether the function is the counting one again,
#: and the files of WeasyPrint's libraries the process has mapped.
_PROBE = """
import ctypes.util, json, sys
asked = []
original = ctypes.util.find_library
def counting(name):
    asked.append(name)
    return original(name)
ctypes.util.find_library = counting
if sys.argv[1] == "qaexport":
    import qaexport.weasy.layout
elif sys.argv[1] == "untested":
    from qaexport.weasy import compat_libraries
    compat_libraries.TESTED = range(0)
    compat_libraries.load_weasyprint()
else:
    import weasyprint
with open("/proc/self/maps") as maps:
    files = sorted({line.split()[-1] for line in maps if any(name in line for name in (
        "libgobject", "libpango-", "libpangoft2", "libharfbuzz", "libfontconfig"))})
print(json.dumps({"asked": asked, "restored": ctypes.util.find_library is counting, "files": files}))
"""


def _probe(how: str) -> dict:
    result = subprocess.run([sys.executable, "-c", _PROBE, how], capture_output=True, text=True, timeout=120,
                            check=True)
    return json.loads(result.stdout.splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the shortcut is taken on Linux only")
def test_weasyprint_loads_its_libraries_by_file_name_without_a_search():
    plain, ours = _probe("plain"), _probe("qaexport")
    assert len(plain["asked"]) >= 7  # the search this avoids (one per library at least)
    assert ours["asked"] == []  # none: ldconfig and gcc never ran
    assert ours["restored"]  # find_library is the standard one again once WeasyPrint has loaded
    assert ours["files"] == plain["files"] and len(ours["files"]) >= 5  # the very same library files


def test_a_weasyprint_outside_the_checked_releases_is_imported_the_ordinary_way():
    untested = _probe("untested")
    assert untested["asked"] != [] and untested["restored"] and len(untested["files"]) >= 5
