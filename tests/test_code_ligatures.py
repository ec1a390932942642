"""Code prints and copies as it was typed: no programming ligatures in any output's code.

JetBrains Mono (the print layouts' code face) draws ``->``, ``=>``, ``!=``, ``>=`` as arrows and signs through its
``calt`` feature, and the PDF's text layer then reads the ligature back as another pair (``->`` came out as ``=>``,
``!=`` as ``==``: trial 9, item 5). Built with the real WeasyPrint and read back with pypdf.
"""

from __future__ import annotations

import re
from pathlib import Path

import pypdf
import pytest

from qaexport.templates import __file__ as templates_init
from tests.cli_run import qaexport

CODE = ("def f(x: int) -> int:", "return x >= 1 and x <= 2 != 3", "const g = async () => await h();")
INLINE = "x => x != y"
BANK = f"""---
framework: F
topic: T
subtopic: S
---

## Arrows {{#arrows .easy}}

Inline `{INLINE}` and:

```python
{CODE[0]}
    {CODE[1]}
```

```js
{CODE[2]}
```
"""


@pytest.mark.parametrize("command", ["pdf", "cards"])
def test_code_in_the_pdf_and_the_cards_reads_back_as_typed(command, tmp_path):
    (tmp_path / "l.md").write_text(BANK)
    out = tmp_path / f"l.{command}.pdf"
    qaexport(command, str(tmp_path / "l.md"), "-o", str(out), "--no-cache")
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(out).pages)
    for line in (*CODE, f"Inline {INLINE} and:"):
        assert line in text, text


def test_the_epub_and_site_stylesheets_turn_ligatures_off_in_code():
    """The EPUB and the site draw code with the reader's or the system's fonts too, which may be a programming font."""
    folder = Path(templates_init).parent
    for sheet in ("epub/book.css", "site/site.css", "pdf/book.css", "cards/cards.css"):
        css = (folder / sheet).read_text()
        rule = re.search(r"(?m)^code[^{]*\{([^}]*)\}", css)
        assert rule, sheet
        assert "font-variant-ligatures: none" in rule.group(1), sheet
        assert '"calt" 0' in rule.group(1), sheet
