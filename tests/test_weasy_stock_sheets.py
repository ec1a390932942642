"""WeasyPrint's stock stylesheets parsed when first used (weasy/compat_stock_sheets.py): loaded through the layout
module, none of the three is parsed and the lean sheet is the one parsed as WeasyPrint loaded; the counter styles are
WeasyPrint's own; the public HTML (its stock sheet parsed when used) and the lean one print the same bytes as with
the sheets parsed up front. Each case runs in a fresh interpreter (WeasyPrint not yet imported)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from qaexport.weasy import compat_stock_sheets

#: Lists (counter styles: decimal, disc, square, a start), a summary, code, a table, page counters.
PAGE = """<!DOCTYPE html><html lang="en"><head><style>
@page { size: A6; margin: 8mm; @bottom-center { content: counter(page) " / " counter(pages); } }
ol.roman { list-style-type: lower-roman } ol.greek { list-style-type: lower-greek }
</style></head><body>
<h1>Lists</h1>
<ol><li>first</li><li>second<ul><li>inner disc<ul><li>square</li></ul></li></ul></li><li>third</li></ol>
<ol start="9"><li>nine</li><li>ten</li></ol><ol class="roman"><li>i</li><li>ii</li></ol>
<ol class="greek"><li>alpha</li></ol>
<details><summary>summary line</summary><p>body</p></details>
<pre><code>def f(x):\n    return x</code></pre>
<table><tr><th>A</th><td>1</td></tr></table>
</body></html>"""


def _run(tmp_path: Path, name: str, deferred: bool) -> dict:
    """In a fresh interpreter, WeasyPrint loaded through the layout module (``deferred``) or imported first (its
    sheets parsed as it loads): the public HTML's PDF first (before anything of ours touched a sheet), then the lean
    one's; which sheets are parsed, and the counter styles."""
    code = f"""
import json, sys
from pathlib import Path
{"" if deferred else "import weasyprint"}
from qaexport.weasy import layout, compat, compat_stock_sheets
import weasyprint.html as h
sheets = [h.UA_STYLESHEET, h.UA_FORM_STYLESHEET, h.PH_STYLESHEET]
loaded = [compat_stock_sheets.parsed(s) for s in sheets]
counters = list(h.UA_COUNTER_STYLE)
lean_ahead = compat_stock_sheets.lean_sheet(h.UA_STYLESHEET, compat.lean_ua_source()) is not None
out = Path(sys.argv[1])
from weasyprint import HTML
HTML(string={PAGE!r}).write_pdf(out / "{name}-public.pdf")
compat.html_class()(string={PAGE!r}).write_pdf(out / "{name}-lean.pdf")
used = [compat_stock_sheets.parsed(s) for s in sheets]
print(json.dumps({{"loaded": loaded, "used": used, "counters": counters, "lean_ahead": lean_ahead,
                  "lean_is_ahead": compat._lean_stylesheet()[1] is (compat_stock_sheets.lean_sheet(
                      h.UA_STYLESHEET, compat.lean_ua_source()) or object()),
                  "html_class": compat.html_class().__name__}}))
"""
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, env=env,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_loaded_through_the_layout_module_no_stock_sheet_is_parsed_and_the_pages_are_the_same_bytes(tmp_path):
    assert compat_stock_sheets.TESTED.start <= 70 < compat_stock_sheets.TESTED.stop
    deferred = _run(tmp_path, "deferred", True)
    up_front = _run(tmp_path, "up-front", False)
    assert deferred["loaded"] == [False, False, False]  # none of the three parsed as WeasyPrint loaded
    assert deferred["lean_ahead"] and deferred["lean_is_ahead"]  # the lean sheet: the one parsed then
    assert deferred["html_class"] == up_front["html_class"] == "LeanHTML"
    assert deferred["counters"] == up_front["counters"] and len(deferred["counters"]) > 10  # WeasyPrint's own
    assert deferred["used"] == [True, False, False]  # the public HTML parsed the UA sheet when it used it
    assert up_front["loaded"] == [True, True, True] and not up_front["lean_ahead"]
    for kind in ("public", "lean"):
        assert (tmp_path / f"deferred-{kind}.pdf").read_bytes() == (tmp_path / f"up-front-{kind}.pdf").read_bytes()


def test_a_stylesheet_it_does_not_know_is_parsed_as_weasyprint_loads():
    assert compat_stock_sheets.lean_source("p { color: red }") is None
    assert not compat_stock_sheets.applies()  # WeasyPrint is imported in this process: too late, nothing done
