import re
from html import unescape
from pathlib import Path

import pytest

from qaexport.errors import UsageError
from qaexport.render import Highlighter, MarkdownRenderer, Scheme, render_library

HOSTILE = (Path(__file__).parent / "fixtures" / "hostile.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def md() -> MarkdownRenderer:
    return MarkdownRenderer(Highlighter())


_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9:-]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>")
_DANGEROUS_TAGS = {"script", "style", "iframe", "object", "embed", "svg", "img", "link", "meta", "base", "form",
                   "frame", "frameset", "applet", "audio", "video", "source", "math"}
_URL_ATTR = re.compile(
    r"""\s(?:href|src|action|formaction|data|xlink:href|poster)\s*=\s*(?:"([^"]*)"|'([^']*)'|(\S+))""", re.I)


def live_markup_problems(html: str) -> list[str]:
    """Anything in real tags that a browser or reader would execute, fetch or embed.

    Escaped text (``&lt;script&gt;``) is not markup and is allowed: the reader should see it.
    """
    problems = []
    for name, attrs in _TAG.findall(html):
        if name.lower() in _DANGEROUS_TAGS:
            problems.append(f"<{name}>")
        if re.search(r"\son[a-z]+\s*=", attrs, re.I):
            problems.append(f"handler in <{name}{attrs}>")
        if re.search(r"\sstyle\s*=", attrs, re.I):
            problems.append(f"style attribute in <{name}{attrs}>")
        for groups in _URL_ATTR.findall(attrs):
            url = unescape(next(g for g in groups if g) if any(groups) else "").strip().lower()
            scheme = re.match(r"^([a-z][a-z0-9+.-]*):", re.sub(r"[\x00-\x20]", "", url))
            if scheme and scheme.group(1) not in ("http", "https", "mailto"):
                problems.append(f"unsafe URL {url!r}")
    return problems



@pytest.fixture(autouse=True)
def _no_pattern_store(monkeypatch):
    """These tests render without the lexers' pattern store, as the library's API does (an in-process CLI run earlier
    in the session names one, and with its patterns the children are forked before any chunk is rendered here:
    tests/test_patterns.py has that case)."""
    from qaexport.render import patterns

    monkeypatch.setattr(patterns, "_folder", None)

def test_hostile_markdown_has_no_live_markup(md):
    html = md.render(HOSTILE)[Scheme.COMPACT]
    assert live_markup_problems(html) == []
    # ...but the text is still there for the reader, as text
    assert "&lt;script&gt;alert('x')&lt;/script&gt;" in html
    assert "onerror=&quot;alert(1)&quot;" in html
    assert '<a href="https://example.com/a?b=1&amp;c=2">ok</a>' in html
    assert '<a href="mailto:a@example.com">mail</a>' in html
    assert "[image: remote]" in html and "<img" not in html
    assert "\u202e" not in html and "\u200b" not in html and "abcevildef" in html


def test_the_checker_itself_catches_live_markup():
    assert live_markup_problems('<img src="x" onerror="y">')
    assert live_markup_problems('<a href="javascript:alert(1)">x</a>')
    assert live_markup_problems("<script>x</script>")
    assert live_markup_problems('<a href="&#106;avascript:x">x</a>')
    assert live_markup_problems('<p style="background:url(x)">x</p>')
    assert not live_markup_problems("&lt;img src=x onerror=alert(1)&gt;")
    assert not live_markup_problems('<a href="https://x.org">x</a>')


HOSTILE_LINKS = ('<a href="javascript:alert(1)">a</a> <a href="file:///etc/passwd">b</a> '
                 '<a href="data:text/html,x">c</a> <a href="https://example.com/ok">d</a>')


@pytest.mark.parametrize("layer", ["link filter", "scheme allow-list"])
def test_each_layer_of_the_html_sanitiser_refuses_other_links_on_its_own(layer, monkeypatch):
    """Links in HTML content pass two checks (the attribute filter's http/https/mailto pattern and nh3's scheme
    allow-list); with either one open wide, the other still drops every other scheme."""
    from qaexport.formats import html as content_html

    if layer == "link filter":
        monkeypatch.setattr(content_html, "_LINK", re.compile(r".*", re.S))
    else:
        monkeypatch.setattr(content_html, "URL_SCHEMES", frozenset({"http", "https", "mailto", "javascript", "file",
                                                                     "data"}))
    out = content_html.sanitize(HOSTILE_LINKS, set())
    assert 'href="https://example.com/ok"' in out, out
    assert not re.search(r'href="(?:javascript|file|data):', out), out


def test_code_blocks_use_pygments_classes_not_inline_colours(md):
    html = md.render(HOSTILE)[Scheme.COMPACT]
    python = re.search(r'<pre class="hl"><code class="language-python">(.*?)</code></pre>', html, re.S).group(1)
    assert '<span class="k">def </span><span class="nf">f</span>' in python
    assert '<span class="c"># comment' in python
    assert "style=" not in html
    assert '<pre class="hl"><code>&lt;b&gt;plain&lt;/b&gt;' in html  # unknown language: plain, escaped
    assert '<pre class="hl"><code>no language &lt;i&gt;here&lt;/i&gt;' in html
    assert "&lt;script&gt;" in html and "<script" not in html


def test_fewer_spans_than_stock_pygments():
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    code = "def f(x):\n    return [i * 2 for i in range(x) if i % 3]  # hi\n" * 20
    hl = Highlighter()
    ours = hl.format(code, "python", hl.tokens(code, "python"))
    stock = highlight(code, PythonLexer(), HtmlFormatter())
    assert ours.count("<span") < stock.count("<span") * 0.7
    plain_text = re.sub(r"<[^>]+>", "", ours)
    assert plain_text.replace("&gt;", ">").replace("&lt;", "<").replace("&amp;", "&") == code


def test_theme_css_for_day_and_night():
    hl = Highlighter("default", "monokai")
    day, night = hl.css(0), hl.css(1, ".nightMode")
    assert "pre.hl{background-color:#f8f8f8" in day
    assert ".hl .k{color:#008000" in day
    assert night.startswith(".nightMode pre.hl{background-color:#272822")
    assert all(line.startswith(".nightMode ") for line in night.splitlines())


def test_unknown_theme_is_a_usage_error():
    with pytest.raises(UsageError, match="qaexport themes"):
        Highlighter("no-such-theme")


def test_each_question_rendered_once_and_pool_matches_serial(sample_library):
    calls = []
    both = (Scheme.COMPACT, Scheme.PORTABLE)
    serial = render_library(sample_library, Highlighter(), both, advance=calls.append, workers=1)
    assert len(serial[Scheme.COMPACT]) == 34 and sum(calls) == 34
    import qaexport.render as r

    old = r.POOL_THRESHOLD
    r.POOL_THRESHOLD = 1
    try:
        pooled_calls: list = []
        pooled = render_library(sample_library, Highlighter(), both, advance=pooled_calls.append, workers=2,
                                meanwhile=lambda: pooled_calls.append("meanwhile"))
    finally:
        r.POOL_THRESHOLD = old
    assert pooled == serial
    # the exporters' preparation runs once, after the chunks rendered before the fork (one progress call each),
    # while the children render
    assert pooled_calls.index("meanwhile") == r.WARM_CHUNKS and pooled_calls.count("meanwhile") == 1
    assert sum(n for n in pooled_calls if n != "meanwhile") == 34  # the children's questions are counted too
    with_code = [k for k, x in serial[Scheme.COMPACT].items() if '<pre class="hl">' in x.answer]
    assert len(with_code) >= 20
    # the two schemes differ exactly where there is highlighted code
    assert all(serial[Scheme.PORTABLE][k].answer != serial[Scheme.COMPACT][k].answer for k in with_code
               if 'class="language-' in serial[Scheme.COMPACT][k].answer)


def test_children_inherit_the_joined_patterns_compiled_before_the_fork(tmp_path, monkeypatch):
    """The rendering children are forked after this process rendered a few chunks: the lexers and joined patterns
    those made reach the children, which compile none again (each used to compile all of them for itself)."""
    import json
    import os

    import qaexport.render as r
    from qaexport import sources
    from qaexport.render import highlight, lexing
    from tests.payloads import page, subtopic

    code = "```python\ndef f(x: int) -> str:\n    return f'{x!r}'  # note\n```"
    questions = [{"id": f"q{i}", "difficulty": "easy", "q": f"Question {i}?", "a": f"Answer {i}.\n\n{code}"}
                 for i in range(40)]
    bank = tmp_path / "bank.json"
    bank.write_text(json.dumps(page([subtopic("s", "S", questions, order=1, fw="fw", topic="t")], fw="fw",
                                    fw_name="F", topic="t", topic_name="T", topic_order=1)))
    library = sources.load([bank])
    log = tmp_path / "compiled"
    compile_joined = lexing._Joined._compile

    def logged(self, rules):  # a forked child inherits this patch and appends its own pid (and what it compiled)
        with log.open("a") as f:
            f.write(f"{os.getpid()} {[text[:30] for _, (text, _) in rules]!r}\n")
        return compile_joined(self, rules)

    from qaexport.render import patterns

    held = patterns.held
    held_said: list[bool] = []  # what decided whether this process renders WARM_CHUNKS chunks before the fork
    monkeypatch.setattr(patterns, "held", lambda: held_said.append(held()) or held_said[-1])

    monkeypatch.setattr(lexing._Joined, "_compile", logged)
    monkeypatch.setattr(lexing, "_SEGMENTS", {})  # nothing compiled by an earlier test in this process
    monkeypatch.setattr(highlight, "JOIN_AFTER", 1)  # the rules joined from the first block on (a big bank's way)
    monkeypatch.setattr(r, "POOL_THRESHOLD", 1)
    monkeypatch.setattr(r, "CHUNK", 4)  # 10 chunks: 3 rendered before the fork, the rest shared with the child
    calls: list = []
    pooled = render_library(library, Highlighter(), advance=calls.append, workers=2)
    assert sum(calls) == 40 and len(pooled[Scheme.COMPACT]) == 40
    assert held_said == [False]  # no pattern store: this process rendered chunks before it forked
    lines = log.read_text().splitlines()
    pids = [line.split(maxsplit=1)[0] for line in lines]
    assert pids and set(pids) == {str(os.getpid())}, lines  # compiled here only, before the fork


def test_bare_links_found_as_the_stock_linkify_finds_them():
    """The renderer's cheap linkify pretest (render.markdown._SchemeLinks) gives the same HTML as linkify-it's own:
    random texts of links with every scheme (in any case, and with characters that fold to a scheme's letters),
    text that is near a link and Markdown around them, rendered both ways."""
    import random

    from linkify_it import LinkifyIt

    from qaexport.render.markdown import safe_markdown_it

    ours, stock = safe_markdown_it(), safe_markdown_it()
    stock.linkify = LinkifyIt().set({"fuzzy_link": False, "fuzzy_email": False})
    pieces = ["https://example.com/a?b=1", "HTTP://X.ORG", "httpſ://example.com", "ftp://files.example.com/x",
              "//cdn.example.com/x.js", "mailto:someone@example.com", "MAILTO:A@B.CO", "www.example.com", "a@b.com",
              "http:", "https:", " ", "\n", "\n\n", "*", "**", "_", "`", "[link](https://e.com)", "<https://e.com>",
              "&#58;", "&colon;", "h", "ttp", "://", ":", "/", "# ", "- ", "> ",
              "| a | b |\n|---|---|\n| https://t.co | x |\n",
              "```python\nx = 'https://a.b'\n```\n", "K", "ß", "example.com", "(", ")", "~~", "$x$", "{{c1::https://a.b}}"]
    rnd = random.Random(27)
    linked = 0
    for _ in range(3000):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 12)))
        html = ours.render(text, {"scheme": Scheme.COMPACT})
        assert html == stock.render(text, {"scheme": Scheme.COMPACT}), text
        linked += "<a href" in html
    assert linked > 1000  # the texts did hold links
    with pytest.raises(ValueError):
        ours.linkify.set({"fuzzy_link": True})  # its pretest would miss fuzzy links: refused


def test_texts_read_as_markdown_it_normalizes_their_line_endings_and_nul():
    """The renderer runs markdown-it's normalize rule only on texts holding a CR or a NUL
    (render.markdown._normalize_if_needed): random texts of CR, CRLF, LF, NUL, code fences, lists and tables give the
    same HTML as with the rule run on every text."""
    import random

    from markdown_it.rules_core.normalize import normalize

    from qaexport.render.markdown import safe_markdown_it

    ours, stock = safe_markdown_it(), safe_markdown_it()
    stock.core.ruler.at("normalize", normalize)
    pieces = ["\r\n", "\r", "\n", "\0", "\n\n", "a", "word ", "```python\n", "```\n", "    code", "- item", "1. x",
              "| a | b |", "|---|---|", "> ", "# ", "*", "`", "\\", "&#0;", "$x$", "{{c1::a}}"]
    rnd = random.Random(27)
    for _ in range(3000):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 16)))
        assert ours.render(text, {"scheme": Scheme.COMPACT}) == stock.render(text, {"scheme": Scheme.COMPACT}), text
