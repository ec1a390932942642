"""A paragraph with inline code breaks into full lines, not one word a line (trial 9, item 6).

No break is allowed before an inline ``<code>.easy</code>`` (a ``.`` after a space), so when the code does not fit
at a line's end WeasyPrint goes back into the text before it, which ends with a space; it used to keep that text's
first word only, line after line ("when you / reword / the / question"). ``weasy.compat.hang_trailing_spaces``
mends it. Built with the real WeasyPrint through the CLI, read back with pypdf.
"""

from __future__ import annotations

import pypdf
import pytest

from qaexport.weasy import compat
from tests.cli_run import qaexport

BANK = """---
framework: F
topic: T
subtopic: S
---

## One {#one .easy}

A `## ` heading holds the question (inline Markdown) and ends with `{#id .difficulty}`: an id that stays the same \
when you reword the question (Anki keeps the review history), and `.easy`, `.medium` or `.hard` (`.unrated` if it \
has none).
"""


def test_the_mend_applies_to_the_installed_weasyprint():
    import weasyprint.layout.inline

    from qaexport.weasy import layout  # noqa: F401  (applies it)

    assert compat.hang_trailing_spaces()
    assert weasyprint.layout.inline.split_first_line.__wrapped__ is not weasyprint.layout.inline.split_first_line


@pytest.mark.parametrize("size", [[], ["--size", "index-4x6"]], ids=["default", "index-4x6"])
def test_a_card_back_with_inline_code_has_full_lines(tmp_path, size):
    (tmp_path / "one.md").write_text(BANK)
    out = tmp_path / "one.cards.pdf"
    qaexport("cards", str(tmp_path / "one.md"), *size, "-o", str(out), "--no-cache")
    back = pypdf.PdfReader(out).pages[1].extract_text()
    body = back[back.index("A ## heading"):].splitlines()  # the answer's lines, after the card's head
    assert len(body) >= 3, back
    # every line but the paragraph's last is full: many words, not one
    assert all(len(line.split()) >= 5 for line in body[:-1]), body
