"""Where a field in Anki and the bank's text differ, said in one bounded line.

A push keeps a field the learner edited and says so; from that one line the learner decides whether to keep their
text or take the bank's (``--overwrite-edits``). Both texts may have changed since qaexport last wrote the field
(the ledger keeps fingerprints, not texts), so the line cannot tell whose change is whose: it shows every place the
two differ, each with a few words before it, so that the learner's own edit (a mnemonic added at the end) and the
author's change (a word fixed at the start) both show. Showing only the first difference hid the learner's edit
behind the author's.

Bounded whatever the fields hold: at most ``PLACES`` places, each text cut to ``WIDTH`` characters there, the rest
counted ("and 29 more places"); the comparison word by word costs O(n log n) per level (patience diff, ``DEPTH``
levels) on texts up to ``COMPARED`` characters, longer ones are compared from each end only (the first and the last
difference shown); characters a terminal acts on (the 8-bit CSI that Anki keeps in a field, bidi controls) or that
cannot be seen (a zero-width space) are shown as ``repr`` escapes them.
"""

from __future__ import annotations

import bisect
import html
import re
from dataclasses import dataclass

#: Places shown in the line (the first, the last, and the largest between); the rest are counted.
PLACES = 3
#: Characters of each text shown at one place; of them, up to ``CONTEXT`` before the difference and about
#: ``AFTER`` after it (to a word's end), so that where the place is reads from the text itself.
WIDTH = 60
CONTEXT = 20
AFTER = 12
#: Characters of both texts compared word by word, and how many levels deep (see ``_compare``); longer texts
#: are compared from each end only (one place, from the first difference to the last).
COMPARED = 1_000_000
DEPTH = 4
CHUNK = 4096  # characters compared at once when narrowing a place
#: Two differences this few words apart are one place (a phrase rewritten, not three words changed).
JOINED = 3

_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class Place:
    """One region where the texts differ: ``a[a_start:a_end]`` stands where ``b[b_start:b_end]`` does."""

    a_start: int
    a_end: int
    b_start: int
    b_end: int

    @property
    def size(self) -> int:
        return max(self.a_end - self.a_start, self.b_end - self.b_start)


def comparable(theirs: str, ours: str) -> tuple[str, str]:
    """The two texts as a reader sees them (tags out, entities decoded, spaces collapsed); with the markup when
    only it differs (a word made bold), and as stored when only the spacing does."""
    a, b = _plain(theirs), _plain(ours)
    if a == b:
        a, b = " ".join(theirs.split()), " ".join(ours.split())
    if a == b:
        a, b = theirs, ours
    return a, b


def _plain(text: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", text)).split())


def places(a: str, b: str) -> list[Place]:
    """Every region where ``a`` and ``b`` differ, in order: word by word, then narrowed to the characters."""
    if len(a) + len(b) > COMPARED:  # far beyond any answer: where they start and where they stop differing
        if a == b:
            return []
        whole = _narrowed(a, b, Place(0, len(a), 0, len(b)))
        if whole.size <= WIDTH:
            return [whole]
        return [Place(whole.a_start, whole.a_start, whole.b_start, whole.b_start),
                Place(whole.a_end, whole.a_end, whole.b_end, whole.b_end)]
    ta, tb = _TOKEN.findall(a), _TOKEN.findall(b)
    blocks: list[tuple[int, int, int, int]] = []
    _compare(ta, tb, (0, len(ta), 0, len(tb)), DEPTH, blocks)
    joined: list[list[int]] = []
    for i1, i2, j1, j2 in blocks:
        if joined and i1 - joined[-1][1] <= JOINED:
            joined[-1][1], joined[-1][3] = i2, j2
        else:
            joined.append([i1, i2, j1, j2])
    offsets_a, offsets_b = _offsets(ta), _offsets(tb)
    return [_narrowed(a, b, Place(offsets_a[i1], offsets_a[i2], offsets_b[j1], offsets_b[j2]))
            for i1, i2, j1, j2 in joined]


def _trimmed(ta: list[str], tb: list[str], block: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    a0, a1, b0, b1 = block
    while a0 < a1 and b0 < b1 and ta[a0] == tb[b0]:
        a0, b0 = a0 + 1, b0 + 1
    while a1 > a0 and b1 > b0 and ta[a1 - 1] == tb[b1 - 1]:
        a1, b1 = a1 - 1, b1 - 1
    return a0, a1, b0, b1


def _compare(ta: list[str], tb: list[str], block: tuple[int, int, int, int], depth: int,
             out: list[tuple[int, int, int, int]]) -> None:
    """The blocks of ``ta`` and ``tb`` that differ, as patience diff finds them: the common beginning and end
    set aside, the words found once in each side's rest (in the same order) are anchors, and the stretches
    between anchors are compared the same way, ``depth`` levels deep. Each level costs O(n log n) whatever the
    texts hold (difflib's matcher can take minutes on a hostile pair of a few thousand words)."""
    a0, a1, b0, b1 = _trimmed(ta, tb, block)
    if a0 == a1 and b0 == b1:
        return
    anchors = _anchors(ta, tb, a0, a1, b0, b1) if depth and a0 < a1 and b0 < b1 else []
    if not anchors:
        out.append((a0, a1, b0, b1))
        return
    for i, j in [*anchors, (a1, b1)]:
        _compare(ta, tb, (a0, i, b0, j), depth - 1, out)
        a0, b0 = i + 1, j + 1


def _anchors(ta: list[str], tb: list[str], a0: int, a1: int, b0: int, b1: int) -> list[tuple[int, int]]:
    """Positions of the tokens found exactly once in ``ta[a0:a1]`` and once in ``tb[b0:b1]``, the longest run
    of them in the same order on both sides."""
    once_a: dict[str, int] = {}
    for i in range(a0, a1):
        once_a[ta[i]] = -1 if ta[i] in once_a else i
    once_b: dict[str, int] = {}
    for j in range(b0, b1):
        once_b[tb[j]] = -1 if tb[j] in once_b else j
    pairs = [(i, once_b[t]) for t, i in once_a.items() if i >= 0 and once_b.get(t, -1) >= 0 and not t.isspace()]
    pairs.sort()
    tails: list[int] = []  # tails[k]: the b position ending the best run of length k + 1
    ends: list[int] = []  # the pair index ending it
    before: list[int] = []  # for each pair, the pair before it in its run
    for n, (_i, j) in enumerate(pairs):
        k = bisect.bisect_left(tails, j)
        before.append(ends[k - 1] if k else -1)
        if k == len(tails):
            tails.append(j)
            ends.append(n)
        else:
            tails[k], ends[k] = j, n
    run, at = [], ends[-1] if ends else -1
    while at >= 0:
        run.append(pairs[at])
        at = before[at]
    return run[::-1]


def _offsets(tokens: list[str]) -> list[int]:
    at, offsets = 0, [0]
    for token in tokens:
        at += len(token)
        offsets.append(at)
    return offsets


def _narrowed(a: str, b: str, place: Place) -> Place:
    """The place without the characters both texts share at its ends (one letter changed in a long word)."""
    s1, e1, s2, e2 = place.a_start, place.a_end, place.b_start, place.b_end
    while e1 - s1 >= CHUNK and e2 - s2 >= CHUNK and a[s1:s1 + CHUNK] == b[s2:s2 + CHUNK]:
        s1, s2 = s1 + CHUNK, s2 + CHUNK
    while e1 - s1 >= CHUNK and e2 - s2 >= CHUNK and a[e1 - CHUNK:e1] == b[e2 - CHUNK:e2]:
        e1, e2 = e1 - CHUNK, e2 - CHUNK
    while s1 < e1 and s2 < e2 and a[s1] == b[s2]:
        s1, s2 = s1 + 1, s2 + 1
    while e1 > s1 and e2 > s2 and a[e1 - 1] == b[e2 - 1]:
        e1, e2 = e1 - 1, e2 - 1
    return Place(s1, e1, s2, e2)


def chosen(found: list[Place]) -> list[Place]:
    """At most ``PLACES`` of them, in order: the first and the last (a learner's line added at the start or the
    end of an answer) and the largest between."""
    if len(found) <= PLACES:
        return found
    middle = sorted(range(1, len(found) - 1), key=lambda i: -found[i].size)[:PLACES - 2]
    return [found[i] for i in sorted([0, *middle, len(found) - 1])]


def excerpt(text: str, start: int, end: int) -> str:
    """``text`` around ``text[start:end]`` for a message: from a word's start about ``CONTEXT`` characters
    before it to a word's end about ``AFTER`` characters after it, cut to ``WIDTH`` characters as shown (a
    character a terminal would act on, or that cannot be seen, shown as its escape), in quotes."""
    begin = max(0, start - CONTEXT)
    if begin:
        space = text.find(" ", begin, begin + CONTEXT // 2)  # the rest of a word cut in two, unless long
        begin = space + 1 if 0 <= space < start else begin
    stop = end + AFTER
    if stop < len(text):
        space = text.find(" ", stop, stop + AFTER)
        stop = space if space >= 0 else stop
    stop = min(stop, len(text))
    lead = "…" if begin else ""
    pieces, used, at = [], len(lead), begin
    while at < stop:
        piece = repr(text[at])[1:-1]  # as repr shows it: escapes for control, format and separator characters
        if used + len(piece) > WIDTH - 1:  # room for the "…"
            break
        pieces.append(piece)
        used += len(piece)
        at += 1
    return "'" + lead + "".join(pieces) + ("…" if at < len(text) else "") + "'"


def kept_edit(theirs: str, ours: str) -> str:
    """What the line says after "kept the learner's edit of <field> in <key>": every place (of the chosen few)
    where Anki's text and the bank's differ, each as "Anki has '…', the bank '…'"."""
    a, b = comparable(theirs, ours)
    found = places(a, b)
    if not found:
        return f": Anki has {excerpt(a, 0, 0)}, the bank {excerpt(b, 0, 0)}"
    shown = chosen(found)
    parts = [f"Anki has {excerpt(a, p.a_start, p.a_end)}, the bank {excerpt(b, p.b_start, p.b_end)}" for p in shown]
    if len(found) == 1:
        return ": " + parts[0]
    numbered = "; ".join(f"{n}) {part}" for n, part in enumerate(parts, 1))
    more = len(found) - len(shown)
    rest = f"; and {more} more place{'' if more == 1 else 's'}" if more else ""
    return f", in {len(found)} places: {numbered}{rest}"
