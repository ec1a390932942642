"""Banks that stress print and e-reader layout: symbols and emoji, CJK, long URLs and identifiers, long code."""

from __future__ import annotations

from pathlib import Path

from tests.payloads import page, question, subtopic, write

LONG_URL = "https://docs.example.com/" + "/".join(f"section-{i}/subsection-{i}" for i in range(12)) + "/index.html"
LONG_IDENTIFIER = "very_long_identifier_" + "_".join(f"part{i}" for i in range(30))
LONG_WORD = "Donaudampfschifffahrtselektrizitätenhauptbetriebswerkbauunterbeamtengesellschaft" * 2
LONG_CODE_LINE = ("    result = compute_value_4(alpha_parameter, beta_parameter, gamma_parameter, delta_parameter, "
                  "epsilon_parameter, zeta_parameter, eta_parameter, theta_parameter)")


def long_code(lines: int = 200) -> str:
    body = "\n".join(f"    value_{i} = compute_value_{i}(argument_{i})  # line {i + 2}" for i in range(lines - 1))
    return "```python\ndef generated():\n" + body + "\n```"


def symbols_bank(folder: Path) -> Path:
    """✅ ❌ 🐍 🚀 and friends, in a table, a paragraph and a heading."""
    table = "| Feature | BackgroundTasks | Celery |\n|---|---|---|\n| Retries | ❌ | ✅ |\n| Same process | ✅ | ❌ |"
    return write(folder / "symbols.json", page([subtopic("emoji", "Emoji 🐍 and symbols", [
        question("table", "easy", q="Which is better ✅ or ❌?", a=table),
        question("rocket", "medium", q="Ship it 🚀?", a="Python 🐍 ships 🚀 fast ⚡ → done ✔ ★ ⚠ ∞ ≤ ≥ ✓ ✗."),
        question("scripts", "hard", q="Scripts: Ελληνικά, Кириллица, עברית, हिन्दी, ไทย?",
                 a="Greek Ελληνικά, Cyrillic Кириллица, Hebrew עברית, Devanagari हिन्दी, Thai ไทย."),
    ])]))


def cjk_bank(folder: Path) -> Path:
    return write(folder / "cjk.json", page([subtopic("cjk", "CJK", [
        question("plain", "easy", q="Plain question?", a="Nothing unusual here."),
        question("kanji", "easy", q="What does 中文 mean?", a="中文 means Chinese; 日本語 is Japanese."),
    ])], fw="cjkfw", fw_name="CJK", topic="cjktopic", topic_name="CJK topic"))


def long_bank(folder: Path) -> Path:
    """Long URLs, identifiers and words in text, tables and code; a 200-line block after a short answer."""
    table = (f"| name | value |\n|---|---|\n| `{LONG_IDENTIFIER}` | {LONG_URL} |\n| {LONG_WORD} | x |")
    return write(folder / "long.json", page([subtopic("long", "Long things", [
        question("url", "easy", q=f"Where is {LONG_URL}?",
                 a=f"See {LONG_URL} and [the docs]({LONG_URL}).\n\nCall `{LONG_IDENTIFIER}()` or {LONG_WORD}.\n\n"
                   + table),
        question("codeline", "medium", q="A long code line?",
                 a=f"```python\ndef f():\n{LONG_CODE_LINE}\n    return {LONG_IDENTIFIER}\n```"),
        question("bigcode", "hard", q="Two hundred lines of code?", a="Here it is:\n\n" + long_code(200)),
    ])], fw="longfw", fw_name="Long", topic="longtopic", topic_name="Long topic"))
