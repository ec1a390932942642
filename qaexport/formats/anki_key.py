"""The Key field of qaexport's Anki notes: which question a note holds, read by every route that meets one.

The field holds the question's key, ``framework/topic/subtopic/id`` (where the question is now), and, for a
question that moved there, `` from=`` and the key it was first exported under (its *identity*: the note's
GUID is ``genanki.guid_for("qaexport", identity)``, so it never changes). Examples::

    fastapi/deployment/uvicorn-gunicorn/worker-count
    fastapi/deployment/scaling/worker-count from=fastapi/deployment/uvicorn-gunicorn/worker-count

The Anki exporter writes it (through ``exporters/anki/text.py``, escaped; keys hold no character HTML would
change), ``qaexport push`` finds the notes it manages by it (AnkiConnect shows no GUIDs), and the ``.apkg``
reader reads a qaexport deck's questions back from it, so all three agree on one question = one note without
any local state: what is needed lives in the bank (``from=``) and in the note.
"""

from __future__ import annotations

import html
import re

from ..model import KEY_PATTERN, is_key

#: What separates the key from the identity of a moved question, in the field and in a bank's heading.
FROM = " from="
_FIELD = re.compile(rf"({KEY_PATTERN})(?:{FROM}({KEY_PATTERN}))?")


def key_field(key: str, origin: str | None = None) -> str:
    """The Key field's text (before escaping) for a question at ``key`` first exported as ``origin``."""
    return f"{key}{FROM}{origin}" if origin else key


def parse_key_field(value: str) -> tuple[str, str | None] | None:
    """``(key, origin)`` from a Key field as stored in a note (HTML), or None when it is not one qaexport
    wrote (empty, edited by hand into something else): such a note is not managed by qaexport."""
    match = _FIELD.fullmatch(html.unescape(value).strip())
    if match is None or not is_key(match.group(1)) or (match.group(2) and not is_key(match.group(2))):
        return None
    return match.group(1), match.group(2)


def identity_of(value: str) -> str | None:
    """The identity (the key the GUID derives from) a Key field names, or None when it names none."""
    parsed = parse_key_field(value)
    return None if parsed is None else (parsed[1] or parsed[0])
