"""Import decks into a real Anki collection with the official ``anki`` package."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest
from anki.import_export_pb2 import ImportAnkiPackageUpdateCondition

IF_NEWER = ImportAnkiPackageUpdateCondition.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER


@contextlib.contextmanager
def new_collection(folder: Path) -> Iterator[Collection]:
    """An empty collection in ``folder``, closed afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    col = Collection(str(folder / "collection.anki2"))
    try:
        yield col
    finally:
        col.close()


def import_deck(col: Collection, apkg: Path, *, merge_notetypes: bool = False):
    """Import like Anki desktop's defaults: update notes and note types only if newer ("Merge note types", off by
    default, when asked)."""
    request = ImportAnkiPackageRequest(
        package_path=str(apkg),
        options=ImportAnkiPackageOptions(update_notes=IF_NEWER, update_notetypes=IF_NEWER, with_scheduling=False,
                                         merge_notetypes=merge_notetypes),
    )
    return col.import_anki_package(request).log


def log_counts(log) -> dict[str, int]:
    return {k: len(getattr(log, k)) for k in ("new", "updated", "duplicate", "conflicting", "first_field_match")}
