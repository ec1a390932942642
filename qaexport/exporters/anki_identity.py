"""The identities a learner's collection remembers; frozen forever.

Changing any of these makes Anki fork the note type, orphan updates or lose review
history. Tests pin them as literal values.
"""

from __future__ import annotations

import hashlib

MODEL_ID = 1607392319
MODEL_NAME = "qaexport Q&A"
FIELDS = ("Question", "Answer", "Difficulty", "Source", "Key")
TEMPLATE_NAME = "Question → Answer"
GUID_NAMESPACE = "qaexport"


def deck_id(name: str) -> int:
    """Stable deck id from the full deck name (Python's hash() is salted per process)."""
    digest = int.from_bytes(hashlib.sha256(f"qaexport-deck:{name}".encode()).digest()[:8], "big")
    return (1 << 40) + digest % (1 << 52)


def note_guid(key: str) -> str:
    """genanki's GUID function over our namespace and the stable key."""
    from genanki import guid_for  # genanki is imported only when a deck is written

    return guid_for(GUID_NAMESPACE, key)


def deck_part(name: str) -> str:
    """A deck name component: '::' would nest, runs of whitespace are collapsed."""
    return " ".join(name.replace("::", ":").split()) or "Untitled"
