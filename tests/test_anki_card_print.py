"""Anki cards at phone width: a long code line scrolls inside its block, and the block shows that it does."""

from __future__ import annotations

import html
import json
import re
import tempfile
from pathlib import Path

import pytest

from qaexport.render import Highlighter, MarkdownRenderer, Scheme
from qaexport.templates import asset
from tests.print_banks import LONG_CODE_LINE
from tests.system_tools import chromium_dump_dom

pytestmark = pytest.mark.slow  # lays out books or drives real tools: `-m 'not slow'` skips it

SCRIPT = """
const out = {};
for (const pre of document.querySelectorAll("pre.hl")) {
  const style = getComputedStyle(pre);
  const borders = parseFloat(style.borderTopWidth) + parseFloat(style.borderBottomWidth);
  out[pre.textContent.length > 80 ? "long" : "short"] = {
    scrolls: pre.scrollWidth > pre.clientWidth, bar: pre.offsetHeight - pre.clientHeight - borders,
    right: pre.getBoundingClientRect().right, width: document.body.getBoundingClientRect().width};
}
const el = document.createElement("pre"); el.id = "result"; el.textContent = JSON.stringify(out);
document.body.appendChild(el);
"""


def _on_a_phone(body: str, script: str) -> dict:
    """``body`` in a phone-wide card with the note type's CSS, in headless Chromium (whose windows are 500 px
    at least, so the body is 360 px wide); ``script`` leaves its findings as JSON in ``<pre id="result">``."""
    page = (f'<!DOCTYPE html><html><head><style>{asset("anki", "card.css")}</style></head>'
            f'<body class="card" style="width: 360px; margin: 0">{body}<script>{script}</script></body></html>')
    with tempfile.TemporaryDirectory() as tmp:
        card = Path(tmp) / "card.html"
        card.write_text(page, encoding="utf-8")
        dom = chromium_dump_dom(card, Path(tmp) / "profile", "--window-size=360,700", "--virtual-time-budget=3000")
    found = re.search(r'<pre id="result">(.*?)</pre>', dom, re.S)
    assert found, dom
    return json.loads(html.unescape(found.group(1)))


def test_long_code_on_a_phone_scrolls_with_a_visible_bar():
    renderer = MarkdownRenderer(Highlighter())
    answer = renderer.render(f"```python\nx = 1\n```\n\n```python\ndef f():\n{LONG_CODE_LINE}\n```",
                             (Scheme.PORTABLE,))[Scheme.PORTABLE]
    result = _on_a_phone(f'<div class="answer">{answer}</div>', SCRIPT)
    long, short = result["long"], result["short"]
    assert long["scrolls"] and long["right"] <= long["width"]  # scrolls inside, never past the card
    # the card's own thin, always-drawn bar (card.css: scrollbar-width thin, 10 px in Chromium; older WebViews
    # read the ::-webkit-scrollbar rules), not the platform's default 15 px one
    assert 0 < long["bar"] <= 10, long
    assert not short["scrolls"] and short["bar"] == 0  # short code shows no bar


def test_a_note_without_a_difficulty_shows_no_empty_badge():
    """Anki fills ``{{Difficulty}}`` with nothing for an unrated note: its badge is not drawn at all."""
    front = asset("anki", "front.html")
    metas = "".join(f'<div id="{name}">' + front.split("</div>", 1)[0].replace("{{Difficulty}}", level)
                    .replace("{{Source}}", "Anki deck") + "</div></div>" for name, level in (("rated", "hard"),
                                                                                              ("unrated", "")))
    script = """const out = {};
    for (const id of ["rated", "unrated"]) {
      const badge = document.querySelector(`#${id} .badge`);
      out[id] = {width: badge.getBoundingClientRect().width, source: document.querySelector(`#${id} .source`)
                 .getBoundingClientRect().left};
    }
    const el = document.createElement("pre"); el.id = "result"; el.textContent = JSON.stringify(out);
    document.body.appendChild(el);"""
    result = _on_a_phone(metas, script)
    assert result["rated"]["width"] > 20 and result["unrated"]["width"] == 0, result
    assert result["unrated"]["source"] < result["rated"]["source"]  # the source moves to the line's start
