"""Pygments' own lexers, run with fewer regex calls: the same tokens, about half the time.

A Pygments ``RegexLexer`` tries each rule of the current state in turn with its own
``re.match`` call and takes the first that matches; in a code-heavy bank that loop is most
of a build (tens of millions of failing calls from Python for a 10,000-question deck).
Here each run of a state's rules is joined into one alternation ``(?:r1)()|(?:r2)()|…``.
Python's regex engine tries the branches in the same order at the same position and stops
at the first that matches, which is exactly Pygments' rule; the empty group closing each
branch is the last group to close, so ``match.lastindex`` names the rule. The token text is
the branch's own match; a rule whose action is a callback (``bygroups``, ``using``) gets the
match of its own pattern, so the callback sees its group numbers unchanged.

Rules that cannot share one pattern keep their own call: back-references or named groups
(numbering and names would clash), different flags, and anything that is not a compiled
pattern. A lexer that replaces Pygments' lexing loop (``ExtendedRegexLexer``, lexers that
post-process, lexers with filters) is run by Pygments itself. The loop below is Pygments'
``RegexLexer.get_tokens_unprocessed`` with the rule search replaced, state handling and
error recovery unchanged; the tests compare both on every installed lexer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from pygments.lexer import Lexer, RegexLexer
from pygments.token import Error, Whitespace, _TokenType

#: What may not be joined into one alternation: back-references (``\1``, ``(?P=x)``, ``(?(1)…)``), whose
#: group numbers would shift. A false alarm only keeps a rule on its own.
_UNJOINABLE = re.compile(r"\\[1-9]|\(\?P=|\(\?\(")
#: Global flags opening a pattern (``(?i)``), which may not stand inside an alternation: they become the
#: same flags scoped to the rule's branch. Verbose mode is left alone (a comment would run past the branch).
_LEADING_FLAGS = re.compile(r"(?:\(\?[imsu]+\))+")

Rule = tuple[Callable[..., Any], Any, Any]  # (pattern.match, action, new state), as Pygments keeps them
#: A segment of a state: one joined pattern's match and the rule for each closing group, or one rule alone.
Segment = tuple[Callable[..., Any], dict[int, Rule] | None, Rule | None]

#: Joined states per token table. Keyed by the table's identity, not the class: a few lexers (C#) pick one of
#: several tables per instance. The table itself is kept so its id is never reused.
_SEGMENTS: dict[int, tuple[dict[str, list[Rule]], dict[str, list[Segment]]]] = {}


def fast_lexing(lexer: Lexer) -> bool:
    """Whether ``lexer`` lexes with Pygments' plain ``RegexLexer`` loop (and so may use :func:`tokens`)."""
    return (isinstance(lexer, RegexLexer) and not lexer.filters
            and type(lexer).get_tokens_unprocessed is RegexLexer.get_tokens_unprocessed)


def _branch(rule: Rule, flags: int) -> tuple[str, int] | None:
    """The rule's pattern as one branch of an alternation compiled with ``flags`` (the lexer's), and its
    group count; None if it must keep its own call."""
    pattern = getattr(rule[0], "__self__", None)
    if not isinstance(pattern, re.Pattern) or not isinstance(pattern.pattern, str):
        return None
    text = pattern.pattern
    if text == "":  # Pygments' ``default(state)``: matches at once whatever the flags
        return "", 0
    if pattern.groupindex or _UNJOINABLE.search(text) or re.compile(text, flags).flags != pattern.flags:
        return None  # back-references, named groups, or compiled with other flags than the lexer's
    leading = _LEADING_FLAGS.match(text)
    if leading:
        letters = "".join(sorted(set(re.sub(r"[^a-z]", "", leading.group()))))
        text = f"(?{letters}:{text[leading.end():]})"
    elif re.match(r"\(\?[a-zA-Z]+\)", text):  # other global flags (verbose, ASCII, locale)
        return None
    return text, pattern.groups


def _join(rules: list[tuple[Rule, tuple[str, int]]], flags: int) -> list[Segment]:
    """One segment for ``rules``, or one per rule if they will not compile together."""
    if len(rules) == 1:
        return [(rules[0][0][0], None, rules[0][0])]
    branches, table, group = [], {}, 1
    for rule, (text, groups) in rules:
        group += groups
        table[group] = rule
        group += 1
        branches.append(f"(?:{text})()")
    try:
        joined = re.compile("|".join(branches), flags)
    except (re.error, RecursionError, OverflowError):
        return [(rule[0], None, rule) for rule, _ in rules]
    if joined.groups != group - 1:  # never expected; keep Pygments' own calls rather than guess
        return [(rule[0], None, rule) for rule, _ in rules]
    return [(joined.match, table, None)]


def _segments(rules: list[Rule], flags: int) -> list[Segment]:
    """A state's rules as segments: each run of joinable rules one alternation, the others on their own."""
    out: list[Segment] = []
    run: list[tuple[Rule, tuple[str, int]]] = []
    for rule in rules:
        branch = _branch(rule, flags)
        if branch is not None:
            run.append((rule, branch))
            continue
        if run:
            out += _join(run, flags)
            run = []
        out.append((rule[0], None, rule))
    if run:
        out += _join(run, flags)
    return out


def _state(cls: type, tokendefs: dict[str, list[Rule]], state: str) -> list[Segment]:
    """A state's segments, joined the first time the state is entered (most states of a lexer never are)."""
    states = _SEGMENTS.setdefault(id(tokendefs), (tokendefs, {}))[1]
    if state not in states:
        states[state] = _segments(tokendefs[state], cls.flags)
    return states[state]


def tokens(lexer: RegexLexer, text: str) -> Iterator[tuple[_TokenType, str]]:
    """``lexer.get_tokens(text)`` for a lexer where :func:`fast_lexing` holds: the same (type, value) pairs."""
    text = lexer._preprocess_lexer_input(text)
    cls = type(lexer)
    tokendefs = lexer._tokens
    pos = 0
    statestack = ["root"]
    segments = _state(cls, tokendefs, "root")
    while 1:
        for match, table, rule in segments:
            m = match(text, pos)
            if m:
                if table is not None:
                    rule = table[m.lastindex]
                _, action, new_state = rule
                if action is not None:
                    if type(action) is _TokenType:
                        yield action, m.group()
                    else:
                        if table is not None:
                            m = rule[0](text, pos)  # the rule's own match: its callback's group numbers
                        for _, ttype, value in action(lexer, m):
                            yield ttype, value
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
                    yield Whitespace, "\n"
                    pos += 1
                    continue
                yield Error, text[pos]
                pos += 1
            except IndexError:
                break
