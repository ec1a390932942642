"""Pygments' own lexers, run with fewer regex calls: the same tokens in a third of the time.

A Pygments ``RegexLexer`` tries each rule of the current state in turn with its own
``re.match`` call and takes the first that matches; in a code-heavy bank that loop is most
of a build (tens of millions of failing calls from Python for a 10,000-question deck).
Here each run of a state's rules is joined into one alternation ``(?:r1)()|(?:r2)()|…``.
Python's regex engine tries the branches in the same order at the same position and stops
at the first that matches, which is exactly Pygments' rule; the empty group closing each
branch is the last group to close, so ``match.lastindex`` names the rule. The token text is
the branch's own match; a rule whose action is a callback (``bygroups``, ``using``) gets the
match of its own pattern, so the callback sees its group numbers unchanged.

The alternation holds only the rules that can match the character at the position
(``first_chars``, which errs towards "may"), so a rule that cannot match is never tried; the
rules left keep their order, so the first that matches is still Pygments' choice. Patterns
are compiled when a character first needs them (~60 ms for Python, hence ``JOIN_AFTER``), once per
installation where the CLI keeps them (:mod:`.patterns`), as are Pygments' own token tables
(:func:`make_lexer`).

Rules that cannot share one pattern keep their own call: back-references or named groups
(numbering and names would clash), different flags, verbose lexers, anything that is not a
compiled pattern, and very long rules (an identifier rule spelling out Unicode's letters costs
~8 ms to compile into each character's alternation, more than it saves).
A lexer that replaces Pygments' lexing loop (``ExtendedRegexLexer``,
lexers that post-process, lexers with filters) is run by Pygments itself. The loop below is
Pygments' ``RegexLexer.get_tokens_unprocessed`` with the rule search replaced, state handling
and error recovery unchanged; the tests compare both on Pygments' lexers.

It is an accelerator and nothing else: ``Highlighter(accelerate=False)`` (``QAEXPORT_LEXING=stock`` on the command
line) runs Pygments' own loop everywhere, and so does any Pygments release outside :data:`TESTED_PYGMENTS`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pygments import lexer as _pygments_lexer
from pygments.lexer import Lexer, RegexLexer
from pygments.lexers import get_lexer_by_name
from pygments.token import Error, Whitespace, _TokenType

from . import patterns

#: What may not be joined into one alternation: back-references (``\1``, ``(?P=x)``, ``(?(1)…)``), whose
#: group numbers would shift. A false alarm only keeps a rule on its own.
_UNJOINABLE = re.compile(r"\\[1-9]|\(\?P=|\(\?\(")
#: Global flags opening a pattern (``(?i)``), which may not stand inside an alternation: they become the
#: same flags scoped to the rule's branch. Verbose mode is left alone (a comment would run past the branch).
_LEADING_FLAGS = re.compile(r"(?:\(\?[imsu]+\))+")

Rule = tuple[Callable[..., Any], Any, Any]  # (pattern.match, action, new state), as Pygments keeps them
#: A segment of a state: a run of joined rules, or one rule on its own (its match and the rule).
Segment = tuple["_Joined | None", Callable[..., Any] | None, Rule | None]

#: Joined states per token table. Keyed by the table's identity, not the class: a few lexers (C#) pick one of
#: several tables per instance. The table itself is kept so its id is never reused.
_SEGMENTS: dict[int, tuple[dict[str, list[Rule]], dict[str, list[Segment]]]] = {}


#: Token tables whose joined patterns would not compile: Pygments lexes them.
_BROKEN: set[int] = set()
#: The dispatch slot of the character at a position (see ``_Joined``): its ASCII code, 128 beyond, 129 at the end.
_SLOT = {chr(code): code for code in range(128)} | {"": 129}
#: A rule this long (an identifier rule spelling out Unicode's letters) keeps Pygments' own compiled pattern:
#: compiled into each character's alternation it would cost ~8 ms each time.
_ALONE_ABOVE = 2000


#: The Pygments releases (major, minor), first and last, whose lexing loop this one was compared with token for
#: token (tests/test_lexing.py); on any other release the stock loop runs.
TESTED_PYGMENTS = ((2, 19), (2, 21))


def supported(version: str | None = None) -> bool:
    """Whether the installed Pygments (or ``version``) is one this loop was checked against."""
    if version is None:
        from pygments import __version__ as version
    try:
        release = tuple(int(part) for part in version.split(".")[:2])
    except ValueError:
        return False
    return TESTED_PYGMENTS[0] <= release <= TESTED_PYGMENTS[1]


_SUPPORTED = supported()


class _StoreRe:
    """The ``re`` module as Pygments' lexer module sees it while :func:`make_lexer` makes a lexer: the same, but
    ``compile`` takes the pattern from the store (:func:`.patterns.compiled`: an equal pattern)."""

    compile = staticmethod(patterns.compiled)

    def __getattr__(self, name: str) -> Any:
        return getattr(re, name)


def make_lexer(lang: str) -> Lexer:
    """``get_lexer_by_name(lang, stripnl=False, ensurenl=False)`` (raises ``ClassNotFound``). The first lexer of a
    class compiles its token table (Python's lexer: 120 patterns, ~15 ms; the four of a FastAPI book ~17 ms):
    where the CLI keeps patterns (:func:`.patterns.keeping`) and the Pygments release is one this module was
    checked against, Pygments compiles them through the store while the lexer is made."""
    if not (_SUPPORTED and patterns.keeping()):
        return get_lexer_by_name(lang, stripnl=False, ensurenl=False)
    saved = _pygments_lexer.re
    _pygments_lexer.re = _StoreRe()
    try:
        return get_lexer_by_name(lang, stripnl=False, ensurenl=False)
    finally:
        _pygments_lexer.re = saved


def fast_lexing(lexer: Lexer) -> bool:
    """Whether ``lexer`` lexes with Pygments' plain ``RegexLexer`` loop (and so may use :func:`tokens`)."""
    return (_SUPPORTED and isinstance(lexer, RegexLexer) and not lexer.filters
            and type(lexer).get_tokens_unprocessed is RegexLexer.get_tokens_unprocessed
            and id(lexer._tokens) not in _BROKEN)


def _branch(rule: Rule, flags: int) -> tuple[str, int] | None:
    """The rule's pattern as one branch of an alternation compiled with ``flags`` (the lexer's), and its
    group count; None if it must keep its own call."""
    pattern = getattr(rule[0], "__self__", None)
    if not isinstance(pattern, re.Pattern) or not isinstance(pattern.pattern, str):
        return None
    text = pattern.pattern
    if text == "":  # Pygments' ``default(state)``: matches at once whatever the flags
        return "", 0
    if pattern.groupindex or _UNJOINABLE.search(text) or patterns.compiled(text, flags).flags != pattern.flags:
        return None  # back-references, named groups, or compiled with other flags than the lexer's
    leading = _LEADING_FLAGS.match(text)
    if leading:
        letters = "".join(sorted(set(re.sub(r"[^a-z]", "", leading.group()))))
        text = f"(?{letters}:{text[leading.end():]})"
    elif re.match(r"\(\?[a-zA-Z]+\)", text):  # other global flags (verbose, ASCII, locale)
        return None
    return text, pattern.groups


class _JoinError(Exception):
    """A joined pattern would not compile (never seen: each branch is a pattern Pygments compiled)."""


def _never(text: str, pos: int) -> None:
    return None


class _Joined:
    """A run of joinable rules, as one alternation per first character: at each position only the rules
    that can match the character there (``first_chars``) are tried, still in Pygments' order. Slot ``k``
    is for ASCII code ``k``, 128 for any other character, 129 for the end of the text; each distinct
    set of rules is compiled the first time a slot needs it."""

    def __init__(self, rules: list[tuple[Rule, tuple[str, int]]], flags: int) -> None:
        self.rules = rules
        self.flags = flags
        firsts = [patterns.first_chars(text, flags) for _, (text, _) in rules]
        keys = [tuple(i for i, f in enumerate(firsts) if f is None or f[2] or (k in f[0] if k < 128 else k == 128
                                                                              and f[1]))
                for k in range(130)]
        self.keys = keys
        self.slots: list[tuple[Callable[..., Any], dict[int, Rule]] | None] = [None] * 130
        self._compiled: dict[tuple[int, ...], tuple[Callable[..., Any], dict[int, Rule]]] = {}

    def slot(self, k: int) -> tuple[Callable[..., Any], dict[int, Rule]]:
        key = self.keys[k]
        if key not in self._compiled:
            self._compiled[key] = self._compile([self.rules[i] for i in key]) if key else (_never, {})
        self.slots[k] = self._compiled[key]
        return self.slots[k]

    def _compile(self, rules: list[tuple[Rule, tuple[str, int]]]) -> tuple[Callable[..., Any], dict[int, Rule]]:
        branches, table, group = [], {}, 1
        for rule, (text, groups) in rules:
            group += groups
            table[group] = rule
            group += 1
            branches.append(f"(?:{text})()")
        try:
            joined = patterns.compiled("|".join(branches), self.flags)
        except (re.error, RecursionError, OverflowError) as exc:
            raise _JoinError from exc
        if joined.groups != group - 1:
            raise _JoinError
        return joined.match, table


def _segments(rules: list[Rule], flags: int) -> list[Segment]:
    """A state's rules as segments: each run of joinable rules one alternation, the others on their own."""
    out: list[Segment] = []
    run: list[tuple[Rule, tuple[str, int]]] = []
    if flags & re.VERBOSE:  # a comment ending a rule would run on past its branch: no joining
        return [(None, rule[0], rule) for rule in rules]
    for rule in rules:
        branch = _branch(rule, flags)
        if branch is not None and len(branch[0]) <= _ALONE_ABOVE:
            run.append((rule, branch))
            continue
        if run:
            out.append((_Joined(run, flags), None, None))
            run = []
        out.append((None, rule[0], rule))
    if run:
        out.append((_Joined(run, flags), None, None))
    return out


def _state(cls: type, tokendefs: dict[str, list[Rule]], state: str) -> list[Segment]:
    """A state's segments, joined the first time the state is entered (most states of a lexer never are)."""
    states = _SEGMENTS.setdefault(id(tokendefs), (tokendefs, {}))[1]
    if state not in states:
        states[state] = _segments(tokendefs[state], cls.flags)
    return states[state]


def tokens(lexer: RegexLexer, text: str) -> list[tuple[_TokenType, str]]:
    """``list(lexer.get_tokens(text))`` for a lexer where :func:`fast_lexing` holds: the same (type, value)
    pairs. Should a joined pattern ever fail to compile, the lexer's table is left to Pygments from then on."""
    try:
        return _tokens(lexer, text)
    except _JoinError:
        _BROKEN.add(id(lexer._tokens))
        return list(lexer.get_tokens(text))


def _tokens(lexer: RegexLexer, text: str) -> list[tuple[_TokenType, str]]:
    text = lexer._preprocess_lexer_input(text)
    cls = type(lexer)
    tokendefs = lexer._tokens
    out: list[tuple[_TokenType, str]] = []
    emit = out.append
    slot_of = _SLOT
    pos = 0
    statestack = ["root"]
    segments = _state(cls, tokendefs, "root")
    while 1:
        k = slot_of.get(text[pos:pos + 1], 128)
        for joined, match, rule in segments:
            if joined is not None:
                match, table = joined.slots[k] or joined.slot(k)
                m = match(text, pos)
                if not m:
                    continue
                rule = table[m.lastindex]
            else:
                m = match(text, pos)
                if not m:
                    continue
            _, action, new_state = rule
            if action is not None:
                if type(action) is _TokenType:
                    emit((action, m.group()))
                else:
                    if joined is not None:
                        m = rule[0](text, pos)  # the rule's own match: its callback's group numbers
                    for _, ttype, value in action(lexer, m):
                        emit((ttype, value))
            pos = m.end()
            if new_state is not None:
                if isinstance(new_state, tuple):
                    for state in new_state:
                        if state == "#pop":
                            if len(statestack) > 1:
                                statestack.pop()
                        elif state == "#push":
                            statestack.append(statestack[-1])
                        else:
                            statestack.append(state)
                elif isinstance(new_state, int):
                    if abs(new_state) >= len(statestack):
                        del statestack[1:]
                    else:
                        del statestack[new_state:]
                elif new_state == "#push":
                    statestack.append(statestack[-1])
                else:
                    raise AssertionError(f"wrong state def: {new_state!r}")
                segments = _state(cls, tokendefs, statestack[-1])
            break
        else:
            try:
                if text[pos] == "\n":
                    statestack = ["root"]
                    segments = _state(cls, tokendefs, "root")
                    emit((Whitespace, "\n"))
                    pos += 1
                    continue
                emit((Error, text[pos]))
                pos += 1
            except IndexError:
                break
    return out
