"""Hostile names and Anki's own markup stay text on both sides of every card (official `anki` importer)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.anki_collection import import_deck, new_collection
from tests.cli_run import qaexport
from tests.payloads import page, question, subtopic, write
from tests.test_render import live_markup_problems

EVIL_FRAMEWORK = "Py<img src=x onerror=alert(1)>thon"
EVIL_TOPIC = 'Topic "quoted" [sound:topic.mp3] \\(t\\)'
EVIL_SUBTOPIC = "Sub <script>alert(2)</script> [latex]s[/latex]"
# Markdown: `\\(` is how a bank writes a literal `\(` (CommonMark removes a backslash before punctuation).
QUESTION = r"Play [sound:evil.mp3] or [anki:tts lang=en_US]hi[/anki:tts] with \\(x^2\\) and [$]y[/$]?"
ANSWER = r"""Sound [sound:answer.mp3], LaTeX [latex]\frac{1}{2}[/latex], [$$]z[/$$] and [$]w[/$].

Display math \\[ a+b \\] and inline \\(c\\), upper case [LATEX]u[/LATEX].

```python
play("[sound:code.mp3]")  # [latex]c[/latex] and \(code\)
```

Inline `[sound:inline.mp3]` and `[$]i[/$]`.
"""
#: What a person must still read on the cards, character for character.
READS = ["[sound:evil.mp3]", "[anki:tts lang=en_US]hi[/anki:tts]", r"\(x^2\)", "[$]y[/$]",
         "[sound:answer.mp3]", r"[latex]\frac{1}{2}[/latex]", "[$$]z[/$$]", r"\[ a+b \]", r"\(c\)",
         '"[sound:code.mp3]"', "[latex]c[/latex]", r"\(code\)", "[sound:inline.mp3]", EVIL_FRAMEWORK,
         EVIL_TOPIC.replace("\\\\", "\\"), EVIL_SUBTOPIC]


class MathJaxStrings(HTMLParser):
    """The strings MathJax 3 searches for delimiters (its HTMLDomStrings): text joined up to any element
    boundary except <br>/<wbr>/comments, minus <pre>/<code>/<script>/<style>/<textarea> and anything inside
    an element of class ``mathjax_ignore`` (MathJax 3) or ``tex2jax_ignore`` (MathJax 2)."""

    SKIP = frozenset({"pre", "code", "script", "noscript", "style", "textarea"})
    VOID = frozenset({"br", "wbr", "img", "hr", "input", "meta", "link", "area", "base", "col", "embed", "source"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.strings: list[str] = [""]
        self.stack: list[bool] = []  # per open element: is its content ignored?
        self.text: list[str] = []  # everything a person reads

    def ignored(self) -> bool:
        return bool(self.stack) and self.stack[-1]

    def handle_starttag(self, tag, attrs):
        if tag in ("br", "wbr"):
            return
        self.strings.append("")
        if tag in self.VOID:
            return
        classes = (dict(attrs).get("class") or "").split()
        self.stack.append(self.ignored() or tag in self.SKIP or bool({"mathjax_ignore", "tex2jax_ignore"}
                                                                      & set(classes)))

    def handle_endtag(self, tag):
        if tag in ("br", "wbr") or tag in self.VOID:
            return
        self.strings.append("")
        if self.stack:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)
        if not self.ignored():
            self.strings[-1] += data


def mathjax_view(html: str) -> MathJaxStrings:
    parser = MathJaxStrings()
    parser.feed(re.sub(r"<style>.*?</style>", "", html, flags=re.S))
    parser.close()
    return parser


@pytest.fixture(scope="module")
def hostile_cards(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("anki-markup")
    src = write(tmp / "bank.json", page(
        [subtopic("evil-sub", EVIL_SUBTOPIC, [question("markup", "hard", q=QUESTION, a=ANSWER)], fw="python",
                  topic="evil-topic")],
        fw="python", fw_name=EVIL_FRAMEWORK, topic="evil-topic", topic_name=EVIL_TOPIC))
    deck = tmp / "hostile.apkg"
    qaexport("anki", str(src), "-o", str(deck))
    with new_collection(tmp / "col") as col:
        import_deck(col, deck)
        yield col


def test_anki_markup_plays_nothing_and_renders_no_latex(hostile_cards):
    col = hostile_cards
    [cid] = col.find_cards("")
    card = col.get_card(cid)
    assert card.question_av_tags() == [] and card.answer_av_tags() == []
    for side in (card.question(), card.answer()):
        assert "<img" not in side and "latex-" not in side
        assert "[sound:" not in side and "[anki:tts" not in side.lower()
        assert not re.search(r"\[(latex|\$\$?)\]", side, re.I)  # what Anki turns into LaTeX images
    assert list(Path(col.media.dir()).iterdir()) == []


def test_mathjax_delimiters_are_broken_outside_and_inside_code(hostile_cards):
    col = hostile_cards
    card = col.get_card(col.find_cards("")[0])
    for side in (card.question(), card.answer()):
        view = mathjax_view(side)
        found = [s for s in view.strings if "\\(" in s or "\\[" in s]
        assert found == [], "MathJax would typeset these"


def test_names_and_markup_read_the_same_as_text(hostile_cards):
    col = hostile_cards
    card = col.get_card(col.find_cards("")[0])
    question, answer = card.question(), card.answer()
    read = "".join(mathjax_view(answer).text)
    for text in READS:
        assert text in read, text
    for side in (question, answer):
        body = re.sub(r"<style>.*?</style>", "", side, flags=re.S)
        assert live_markup_problems(body) == []
        assert "<script" not in body.lower()
    assert "Py&lt;img src=x onerror=alert(1)&gt;thon" in question


def test_deck_names_descriptions_and_tags_stay_text(hostile_cards):
    col = hostile_cards
    names = [d.name for d in col.decks.all_names_and_ids() if d.name != "Default"]
    assert names and all(not set(n) & set('<>"`') for n in names), names
    assert "Py＜img src=x onerror=alert(1)＞thon" in names
    descriptions = {n: col.decks.by_name(n)["desc"] for n in names}
    for desc in descriptions.values():  # Anki shows a deck's description as HTML on its overview screen
        assert live_markup_problems(desc) == [] and "<script" not in desc and "<img" not in desc
        assert "[sound:" not in desc and "[latex]" not in desc
    assert "Py&lt;img src=x onerror=alert(1)&gt;thon interview questions" in descriptions.values()
    note = col.get_note(col.find_notes("")[0])
    assert all(re.fullmatch(r"[a-z0-9._:-]+", t) for t in note.tags), note.tags
    assert note["Key"] == "python/evil-topic/evil-sub/markup"


def test_inert_handles_entities_code_and_quoted_attributes():
    from qaexport.exporters.anki.text import inert

    ignore = '<span class="mathjax_ignore tex2jax_ignore">'
    # An entity-encoded backslash is still a delimiter to MathJax (it reads decoded text).
    assert inert("a &#92;(x&#x5C;) b") == f"a {ignore}&#92;(</span>x{ignore}&#x5C;)</span> b"
    # In code MathJax reads nothing, but Anki still finds [sound:] there; a '>' inside a quoted attribute
    # value does not end the tag.
    code = '<pre class="hl"><code title="a>b">\\(x\\) [sound:a.mp3]</code></pre>\\(y\\)'
    assert inert(code) == ('<pre class="hl"><code title="a>b">\\(x\\) &#91;sound:a.mp3]</code></pre>'
                           f"{ignore}\\(</span>y{ignore}\\)</span>")
    assert inert("arr[0] and [link](x)") == "arr[0] and [link](x)"  # ordinary brackets stay as they are
