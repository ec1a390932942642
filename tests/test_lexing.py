"""The joined-rule lexing loop (``qaexport.render.lexing``) gives exactly Pygments' own tokens.

Anki notes store the highlighted HTML, so a single different token would rewrite learners' notes:
every installed lexer that takes the fast loop is compared with Pygments on real code, on text
built to hit error recovery and state changes, and on random text.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from types import SimpleNamespace

import pygments
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from pygments.lexers import LEXERS, get_lexer_by_name
from pygments.token import Token

from qaexport.render import Highlighter, highlight, lexing
from qaexport.render.first_chars import first_chars
from tests.system_tools import python_release

MIXED = (Path(lexing.__file__).read_text(encoding="utf-8")[:2000] + """
#include <stdio.h>
int main(void) { printf("%d\\n", 0x1F); return 0; } // c ✓
<html><body onload="x()"><script>var a = `t${1}`; /re+/g.test("s")</script><style>a{color:red}</style></body></html>
SELECT * FROM t WHERE a = 'x' AND b <> 2; -- sql
fn main() { let s = r#"raw"#; println!("{}", s); }
$ echo "$HOME" 'x' $((1+2)) <<EOF
heredoc
EOF
key: [1, 2, {a: "b"}]   # yaml
\\begin{document} x^2 \\end{document}
(defun f (x) (+ x 1))
f'{x!r:>{w}}' rb'\\x00' \"\"\"doc\"\"\" 1_000.5e-3j @decorator
\r\n\ufeff unterminated "string
""")
_ALPHABET = "abcXYZ019 _\t\n\"'`#$%&()*+,-./:;<=>?@[\\]^{|}~é中\r\u2028"
_PIECES = [*_ALPHABET, "def ", "class ", "if ", "'''", "f'", 'rb"', "$(", "<!--", "/*", "*/", "0x", "\\n", "<<EOF\n"]


def pygments_tokens(lexer, text: str) -> list:
    return list(lexer.get_tokens(text))


def fast(lexer, text: str) -> list:
    assert lexing.fast_lexing(lexer)
    result = lexing.tokens(lexer, text)
    assert lexing.fast_lexing(lexer), "a joined pattern did not compile: the lexer fell back to Pygments"
    return result


COMMON = {"python", "bash", "javascript", "typescript", "rust", "go", "java", "sql", "html", "css", "csharp", "kotlin",
          "ruby", "php", "swift", "scala", "docker", "toml", "ini", "diff", "powershell", "c", "cpp", "json", "yaml"}


def some_lexers() -> list:
    """A twelfth of Pygments' lexers in turn, plus the common languages (joining every lexer's states takes
    ~10 s; the whole set was checked on 25 texts each when the module was written)."""
    lexers = []
    for i, (_module, _name, aliases, _files, _mimes) in enumerate(sorted(LEXERS.values())):
        if aliases and (i % 12 == 0 or COMMON & set(aliases)):
            try:
                lexers.append(get_lexer_by_name(aliases[0], stripnl=False, ensurenl=False))
            except Exception:  # a lexer needing an optional dependency
                continue
    return lexers


@pytest.mark.slow
def test_installed_regex_lexers_give_pygments_tokens():
    rng = random.Random(7)
    texts = [MIXED, "", "\n", "x"] + ["".join(rng.choice(_ALPHABET) for _ in range(200)) for _ in range(2)]
    lexers = [lx for lx in some_lexers() if lexing.fast_lexing(lx)]
    assert len(lexers) > 45  # most of Pygments takes the fast loop
    differ = []
    for lexer in lexers:
        for text in texts:
            try:
                expected = pygments_tokens(lexer, text)
            except Exception as exc:  # a lexer bug must surface the same way
                with pytest.raises(type(exc)):
                    fast(lexer, text)
                continue
            if fast(lexer, text) != expected:
                differ.append((lexer.name, text[:30]))
                break
    assert differ == []


def test_sample_code_blocks_give_pygments_tokens(sample_library, monkeypatch):
    monkeypatch.setattr(highlight, "JOIN_AFTER", 0)  # joined from the first block on
    md = MarkdownIt("commonmark")
    blocks = [(t.info.strip(), t.content) for ref in sample_library.questions()
              for t in md.parse(ref.question.answer) if t.type == "fence" and t.info.strip()]
    assert {"python", "bash"} <= {lang for lang, _ in blocks}
    hl = Highlighter()
    for lang, code in blocks:
        lexer = hl.lexer(lang)
        assert hl.tokens(code, lang) == pygments_tokens(lexer, code)


@pytest.mark.parametrize("lang", ["python", "bash", "javascript", "rust", "sql", "html", "css", "go", "csharp"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.lists(st.sampled_from(_PIECES), max_size=80).map("".join))
def test_random_text_gives_pygments_tokens(lang, text):
    lexer = get_lexer_by_name(lang, stripnl=False, ensurenl=False)
    if lexing.fast_lexing(lexer):
        assert fast(lexer, text) == pygments_tokens(lexer, text)


def test_states_are_joined_into_few_patterns():
    """The point of the module: Python's main state is a regex call or two per token, not one per rule
    (its identifier rules, 3,500 characters of Unicode letters each, keep their own patterns)."""
    hl = Highlighter()
    lexer = hl.lexer("python")
    segments = lexing._state(type(lexer), lexer._tokens, "root")
    assert len(lexer._tokens["root"]) > 40 and len(segments) <= 4
    assert sum(1 for joined, _, _ in segments if joined) == 2


def test_lexers_outside_the_plain_loop_are_left_to_pygments():
    yaml = get_lexer_by_name("yaml")  # an ExtendedRegexLexer with its own loop
    assert not lexing.fast_lexing(yaml)
    assert Highlighter().tokens("a: [1, 2]\n", "yaml") == pygments_tokens(yaml, "a: [1, 2]\n")


def test_a_language_is_joined_only_after_enough_code():
    """Joining Python's rules costs ~50 ms: a small bank lexes with Pygments' own loop, a big one switches."""
    hl = Highlighter()
    code = "def f(x):\n    return [y for y in x if y]  # comment\n"
    lexer = hl.lexer("python")
    lexing._SEGMENTS.pop(id(lexer._tokens), None)
    expected = pygments_tokens(lexer, code)
    for _ in range(highlight.JOIN_AFTER // len(code) + 1):
        assert hl.tokens(code, "python") == expected
    assert id(lexer._tokens) not in lexing._SEGMENTS
    assert hl.tokens(code, "python") == expected
    assert "root" in lexing._SEGMENTS[id(lexer._tokens)][1]


def test_a_language_with_enough_code_ahead_is_joined_at_once(sample_library):
    """Told how much code is coming (a big bank's share of it), the highlighter joins at the first block;
    a small share keeps Pygments' own loop. ``code_chars`` counts the fenced code of each language."""
    from qaexport.render import code_chars

    counted = code_chars([r.question for r in sample_library.questions()])
    assert set(counted) == {"python", "bash", "dockerfile", "yaml"} and 5_000 < counted["python"] < 20_000
    code = "def f(x):\n    return [y for y in x if y]  # comment\n"
    answer = SimpleNamespace(answer="Text\n\n```python title\nab\ncd\n```\n\n~~~~ yaml\nx: 1\n~~~~\n\n```bash\nopen")
    assert code_chars([answer, answer]) == {"python": 12, "yaml": 10, "bash": 8}
    for ahead, joined in ((highlight.JOIN_AFTER, True), (highlight.JOIN_AFTER - 1, False)):
        hl = Highlighter()
        lexer = hl.lexer("python")
        lexing._SEGMENTS.pop(id(lexer._tokens), None)
        hl.expect({"Python": ahead, "bash": 10**6})
        assert hl.tokens(code, "python") == pygments_tokens(lexer, code)
        assert (id(lexer._tokens) in lexing._SEGMENTS) is joined, ahead


def test_first_characters_err_only_towards_may():
    digits = frozenset(range(ord("0"), ord("9") + 1))
    assert first_chars(r"\d+", re.M) == (digits, True, False)
    assert first_chars(r"(?<!\.)(if|for)\b", re.M) == (frozenset(map(ord, "if")), False, False)
    assert first_chars(r"\s*x", re.M)[2] is False and ord("x") in first_chars(r"\s*x", re.M)[0]
    assert first_chars(r"a?", re.M)[2] is True  # may match empty: may match anywhere
    assert first_chars(r"(?i)if", re.M) is None and first_chars(r"(a?)\1b", re.M) is None


@settings(max_examples=300, deadline=None)
@given(tokens=st.lists(st.tuples(
    st.sampled_from([Token.Text, Token.Text.Whitespace, Token.Keyword, Token.Name.Function, Token.Comment.Single,
                     Token.Literal.String.Double, Token.Error, Token.Name]),
    st.sampled_from(["", "\n", " ", "  ", "x", "a\nb", "\n\n", "<&>", " \n", "if", "\t"])), max_size=30))
def test_portable_spans_shortcut_gives_the_general_html(tokens):
    """Anki's notes store this HTML: the portable shortcut must equal the general formatter exactly."""
    hl = Highlighter()
    assert hl.spans(tokens, portable=True) == hl._spans(tokens, portable=True)


def test_the_accelerator_can_be_switched_off(sample_library, monkeypatch):
    """``accelerate=False`` (``QAEXPORT_LEXING=stock``): Pygments' own loop for every block, the same HTML."""
    from qaexport.render import Scheme, render_library

    used: list[str] = []
    fast = lexing.tokens
    monkeypatch.setattr("qaexport.render.highlight.fast_tokens", lambda lexer, code: used.append(code) or
                        fast(lexer, code))
    code = {lang: 10**6 for lang in ("python", "bash", "json", "yaml", "dockerfile", "toml", "sql", "text")}
    accelerated, stock = Highlighter(), Highlighter(accelerate=False)
    accelerated.expect(code)
    stock.expect(code)
    with_fast = render_library(sample_library, accelerated, [Scheme.COMPACT, Scheme.PORTABLE], workers=1)
    assert used, "the accelerated highlighter lexed nothing through the joined loop"
    used.clear()
    assert render_library(sample_library, stock, [Scheme.COMPACT, Scheme.PORTABLE], workers=1) == with_fast
    assert used == []


@pytest.mark.parametrize(("version", "accelerated"), [("2.21.0", True), ("2.19.2", True), ("2.18.0", False),
                                                      ("2.22.0", False), ("3.0.0", False), ("2.21.dev1", True),
                                                      ("x", False)])
def test_the_accelerator_runs_only_on_the_pygments_it_was_checked_against(version, accelerated):
    assert lexing.supported(version) is accelerated


@pytest.mark.slow  # a pytest process of its own a release: ~4 s of CPU each
@pytest.mark.parametrize("minor", [m for m in range(lexing.TESTED_PYGMENTS[0][1], lexing.TESTED_PYGMENTS[1][1] + 1)
                                   if not pygments.__version__.startswith(f"2.{m}.")])
def test_every_pygments_in_the_bound_gives_its_own_tokens(minor, tmp_path_factory):
    """Each Pygments release the accelerator runs on, installed beside this one: the comparisons above on every
    installed lexer and on random text, run against that release. (The installed release: those tests themselves,
    in this process.)"""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    paths = [str(python_release(f"pygments==2.{minor}.*")), str(root)]  # installed once, then from the cache
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    code = (f"import pygments, sys; assert pygments.__version__.startswith('2.{minor}.'), pygments.__version__\n"
            "import pytest; sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', 'tests/test_lexing.py', '-k',"
            " 'installed_regex or random_text or sample_code']))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=root,
                            timeout=900)
    assert result.returncode == 0 and " passed" in result.stdout, result.stdout[-3000:] + result.stderr[-2000:]


def test_code_chars_counts_as_the_fence_pattern_reads_them():
    """``code_chars`` finds each block's end by searching for its closing fence; the counts are those of one
    pattern read lazily to the closing fence or the end (its former self), for random texts of fences of both
    kinds and lengths, indented ones, languages, unclosed blocks and text between."""
    from qaexport.render import code_chars

    lazy = re.compile(r"^ {0,3}(`{3,}|~{3,})[ \t]*([\w+#.-]+)[^\n]*\n(.*?)(?:^ {0,3}\1|\Z)", re.M | re.S)

    def expected(text: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for _fence, lang, code in lazy.findall(text):
            out[lang] = out.get(lang, 0) + len(code)
        return out

    pieces = ["```", "````", "~~~", "~~~~", "```python\n", "~~~ yaml x\n", " ```a\n", "    ```b\n", "```c+\n", "\n",
              "x", " ", "`", "~", "py", "\t", "```\n", "   ~~~~~d\n"]
    rnd = random.Random(27)
    counted = 0
    for _ in range(20_000):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 14)))
        assert code_chars([SimpleNamespace(answer=text)]) == expected(text), repr(text)
        counted += bool(expected(text))
    assert counted > 5_000
