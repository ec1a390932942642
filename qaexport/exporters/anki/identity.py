"""The identities a learner's collection remembers; frozen forever.

Changing any of these makes Anki fork the note type, orphan updates or lose review
history. Tests pin them as literal values.
"""

from __future__ import annotations

import hashlib
import unicodedata

from ...formats.anki_package import (  # the .apkg source recognises these notes by them too
    CLOZE_FIELDS,
    CLOZE_MODEL_ID,
    FIELDS,
    MODEL_ID,
)

__all__ = ["CLOZE_FIELDS", "CLOZE_MODEL_ID", "FIELDS", "GUID_NAMESPACE", "MODEL_ID", "MODEL_NAME", "TEMPLATE_NAME",
           "deck_id", "deck_part", "note_guid"]

MODEL_NAME = "qaexport Q&A"
TEMPLATE_NAME = "Question → Answer"
GUID_NAMESPACE = "qaexport"


def deck_id(name: str) -> int:
    """Stable deck id from the full deck name (Python's hash() is salted per process)."""
    digest = int.from_bytes(hashlib.sha256(f"qaexport-deck:{name}".encode()).digest()[:8], "big")
    return (1 << 40) + digest % (1 << 52)


_BASE91 = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&()*+,-./:;<=>?@[]^_`{|}~"


def note_guid(key: str) -> str:
    """genanki's ``guid_for(GUID_NAMESPACE, key)``, the GUID learners' notes were created with, computed
    here without importing genanki (tests compare the two): SHA-256's first 8 bytes in Anki's base91."""
    n = int.from_bytes(hashlib.sha256(f"{GUID_NAMESPACE}__{key}".encode()).digest()[:8], "big")
    digits = []
    while n > 0:
        n, r = divmod(n, 91)
        digits.append(_BASE91[r])
    return "".join(reversed(digits))


#: Characters that could open markup or leave an attribute wherever a deck name is shown as HTML;
#: replaced by their full-width look-alikes, so the name still reads the same.
_DECK_LOOKALIKES = str.maketrans({"<": "\uff1c", ">": "\uff1e", '"': "\uff02", "`": "\uff40"})


def deck_part(name: str) -> str:
    """A deck name component as Anki keeps it (the deck id is derived from the name, so it must not
    change on Anki's side): NFC, no control or format characters, ``::`` would nest, runs of whitespace
    collapsed; markup characters become look-alikes, so the name reads the same and stays text."""
    name = unicodedata.normalize("NFC", name).translate(_DECK_LOOKALIKES)
    name = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in name
                   if unicodedata.category(c) != "Cf")
    return " ".join(name.replace("::", ":").split()) or "Untitled"


#: qaexport's own Cloze note type, for questions with ``{{c1::…}}`` deletions: one card per deletion number.
#: Frozen like the Q&A type: its id, name, field and template names are what learners' collections remember.
CLOZE_MODEL_NAME = "qaexport Cloze"
CLOZE_TEMPLATE_NAME = "Cloze"
