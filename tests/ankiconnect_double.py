"""A TEST DOUBLE of AnkiConnect (the Anki add-on 2055492159, API version 6), not AnkiConnect itself.

No AnkiConnect runs on the Python this project supports (the add-on lives inside Anki desktop; the
``anki-connect-server`` package needs Python 3.12), so ``qaexport push`` is tested against this stand-in:
an HTTP server on 127.0.0.1 that answers AnkiConnect's requests by doing each action on a real collection
through the official ``anki`` package, the engine Anki desktop runs. It was written from the add-on's public
documentation and by watching the real add-on answer (``/work/shared/tools/anki_desktop.sh``); none of the
add-on's (GPL-3) code is in it. What it reproduces, because ``push`` must cope with it:

* the wire format: ``{"result": ..., "error": ...}`` for version 6 requests, the bare result for an action
  inside ``multi`` that gives no version (it then defaults to 4), the plain text ``AnkiConnect v.6`` for an
  empty body, the JSON parser's message for a body that is not JSON, HTTP 403 with an empty body when the
  origin is not allowed, one request per connection;
* the key: every action, each one inside ``multi`` too, needs ``key`` when a key is set
  (``valid api key must be provided``); ``requestPermission`` never does;
* the real add-on's answers on current Anki: ``addNote``/``addNotes`` ignore ``deckName`` (the note lands in
  the note type's remembered deck, or the current deck; upstream issue #385), ``addNotes`` answers ``null``
  for a duplicate without a reason, ``importPackage`` runs Anki's own importer with the add-on's options
  (GUIDs kept, a note updated only when the package's copy is newer, existing cards never moved),
  ``getDecks`` files an unknown card under ``Default``, ``notesInfo`` answers ``{}`` for an unknown note,
  ``changeDeck`` takes cards out of filtered decks and creates the deck it is given;
* ``sync`` as the add-on's current upstream does it (``sync: auth not configured`` without an AnkiWeb login,
  ``Sync status N not one of [0, 1] ...`` when a full sync is required), against a real sync server
  (``anki.syncserver``) when a test gives one.

Knobs for the failures a user meets: ``api_key``, ``allowed`` (origin refused), ``version_number`` (an old
add-on), ``garbage`` (something else answers on the port), ``delay`` (a busy Anki: timeouts),
``browser_selected`` (notes open in the browser's editor), ``after_action`` (a hook run after each action: it may
change the collection as a learner would meanwhile, raise :class:`HangUp` or :class:`Reset`, or call
:meth:`~AnkiConnectDouble.quit`: Anki quits after answering, then :meth:`~AnkiConnectDouble.restart` starts it
again on the same address). ``requests``, ``actions`` and ``bodies`` (each request body's size and action count)
record what arrived.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import fnmatch
import gc
import json
import os
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest
from anki.errors import NotFoundError
from anki.notes import Note

API_VERSION = 6
#: Seconds any wait of the double may take: a request's socket reads and writes, the server thread's end, the
#: collection's threads ending. A test that would wait longer fails with a message instead of hanging.
WAIT = 30.0
KEY_ERROR = "valid api key must be provided"
_SCHEMA_TEXT = ("\n\nFailed validating '{check}' in schema:\n    {{'type': 'object',\n     'properties': "
                "{{'action': {{'type': 'string', 'minLength': 1}},\n                    'version': "
                "{{'type': 'integer'}},\n                    'params': {{'type': 'object'}}}},\n     "
                "'required': ['action']}}\n\nOn instance:\n    {instance!r}")


class ActionError(Exception):
    """An action failed: its message is what AnkiConnect puts in ``error``."""


class HangUp(Exception):  # noqa: N818 (not an error of the protocol: the connection goes away)
    """Raised by a test's ``after_action`` hook: the action was done, then Anki went away without answering."""


class Reset(HangUp):
    """Like :class:`HangUp`, but the connection is reset (the client reads "Connection reset by peer"), as when
    Anki is stopped while a request is in hand."""


class _Quit(Exception):  # noqa: N818 (ends the server's loop, not an error)
    pass


class _Server(HTTPServer):
    """An HTTP server whose loop ends after the request in hand once ``quitting`` (Anki quit)."""

    quitting = False

    def service_actions(self) -> None:  # called by serve_forever after each request
        if self.quitting:
            raise _Quit


class AnkiConnectDouble:
    """AnkiConnect's HTTP API on a real collection. Use as a context manager: ``url`` while it runs."""

    def __init__(self, collection_path: Path, *, api_key: str | None = None) -> None:
        self._threads_before = threads()
        self.collection_path = Path(collection_path)
        self.collection_path.parent.mkdir(parents=True, exist_ok=True)
        self.col = Collection(str(self.collection_path))
        self.api_key = api_key
        self.allowed = True
        self.version_number = API_VERSION
        self.garbage: bytes | None = None
        self.delay = 0.0
        self.browser_selected: list[int] = []
        self.sync_auth: Any = None
        self.after_action: Callable[[str, dict[str, Any]], None] | None = None
        self.requests = 0
        self.actions: Counter[str] = Counter()
        self.bodies: list[tuple[int, int]] = []  # (bytes, actions inside multi or 1)
        self.lock = threading.RLock()
        self._server: _Server | None = None
        self._port = 0
        self._quit = False
        self._thread: threading.Thread | None = None
        self._actions: dict[str, Callable[..., Any]] = {
            name[len("do_"):]: getattr(self, name) for name in dir(self) if name.startswith("do_")}

    # ------------------------------------------------------------------------------------------- server

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the double first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> str:
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = WAIT  # every read and write of a request's socket is bounded

            def handle(self) -> None:
                try:
                    super().handle()
                except OSError as exc:  # the client gave up (its timeout) or went away: nothing to answer
                    if exc.errno not in (errno.EPIPE, errno.ECONNRESET) and not isinstance(exc, TimeoutError):
                        raise

            def log_message(self, *_args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                try:
                    status, payload = double.answer(body, self.headers.get("Origin"))
                except HangUp as gone:
                    self.close_connection = True  # no answer at all
                    if isinstance(gone, Reset):  # closed at once, with a reset (no lingering: RST, not FIN)
                        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        self.rfile.close()  # its reference would keep the socket open
                        self.connection.close()
                    return
                if double._quit:  # Anki quits: nothing listens from now on (before the answer goes, so that the
                    double._quit = False  # client's next request is refused), and the loop ends after this one
                    self.server.quitting = True
                    self.server.socket.close()
                self.send_response_only(status)
                if status == 200:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Access-Control-Allow-Origin", "http://localhost")
                self.send_header("Access-Control-Allow-Headers", "*")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                self.close_connection = True  # AnkiConnect closes each connection after its answer

            do_GET = do_POST  # noqa: N815 (AnkiConnect reads any method the same way)

        self._server = _Server(("127.0.0.1", self._port), Handler)
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._serve, args=(self._server,), name="ankiconnect-double",
                                        daemon=True)
        self._thread.start()
        return self.url

    @staticmethod
    def _serve(server: _Server) -> None:
        with contextlib.suppress(_Quit):
            server.serve_forever()

    def quit(self) -> None:
        """From an ``after_action`` hook: Anki answers this request, then quits (nothing listens any more)."""
        self._quit = True

    def restart(self) -> str:
        """Anki started again after :meth:`quit`, on the same address, with the same collection."""
        self._stop_server()
        return self.start()

    def _stop_server(self) -> None:
        if self._server is not None:
            self._server.shutdown()  # returns when serve_forever does: a request in hand ends within WAIT
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(WAIT)
            assert not self._thread.is_alive(), f"the double's server thread did not end within {WAIT:g} s"
            self._thread = None

    def stop(self) -> None:
        """Leave nothing running: the server thread ended, the collection closed and its backend gone.

        Closing is not enough: the collection and its parts refer to each other, so the ``anki`` backend (and the
        runtime threads a sync starts in it) lives on as garbage until a collection runs, and a forked child
        that collected it once waited forever for threads it does not have. So the double drops its collection,
        collects it, and checks that every thread it started has ended."""
        self._stop_server()
        with self.lock:
            if self.col is not None:
                if self.col.db is not None:
                    self.col.close()
                self.col = None  # type: ignore[assignment]  # dropped, so that gc frees its backend
        gc.collect()
        left = wait_for_threads(self._threads_before, WAIT)
        assert not left, f"threads still running after the double stopped: {left}"

    def __enter__(self) -> AnkiConnectDouble:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @contextlib.contextmanager
    def paused(self) -> Iterator[Collection]:
        """The collection, with no request handled meanwhile (a test looking at or changing it as a learner)."""
        with self.lock:
            yield self.col

    # ------------------------------------------------------------------------------------------- protocol

    def answer(self, body: bytes, origin: str | None) -> tuple[int, bytes]:
        """The HTTP status and body AnkiConnect sends for one request body."""
        with self.lock:
            self.requests += 1
            if self.delay:
                time.sleep(self.delay)
            if self.garbage is not None:
                return 200, self.garbage
            try:
                request = json.loads(body.decode("utf-8"))
                problem = self._schema_problem(request)
                if problem:
                    return 200, json.dumps({"result": None, "error": problem}).encode()
            except ValueError as exc:
                if not body:
                    return 200, f"AnkiConnect v.{self.version_number}".encode()
                return 200, json.dumps({"result": None, "error": str(exc)}).encode()
            if not self.allowed and request.get("action") != "requestPermission":
                return 403, b""
            inner = request.get("params", {}).get("actions") if request.get("action") == "multi" else None
            self.bodies.append((len(body), len(inner) if isinstance(inner, list) else 1))
            return 200, json.dumps(self.handle(request)).encode("utf-8")

    @staticmethod
    def _schema_problem(request: Any) -> str:
        if not isinstance(request, dict):
            return f"{request!r} is not of type 'object'" + _SCHEMA_TEXT.format(check="type", instance=request)
        if "action" not in request:
            return "'action' is a required property" + _SCHEMA_TEXT.format(check="required", instance=request)
        if not isinstance(request["action"], str) or not request["action"]:
            return f"{request['action']!r} is not of type 'string'"
        if "params" in request and not isinstance(request["params"], dict):
            return f"{request['params']!r} is not of type 'object'"
        return ""

    def handle(self, request: dict[str, Any]) -> Any:
        """One action (the body of a request, or one entry of ``multi``)."""
        name = request.get("action", "")
        version = request.get("version", 4)
        params = request.get("params", {})
        self.actions[name] += 1
        try:
            if request.get("key") != self.api_key and name != "requestPermission":
                raise ActionError(KEY_ERROR)
            action = self._actions.get(name)
            if action is None:
                raise ActionError("unsupported action")
            try:
                result = action(**params)
            except TypeError as exc:
                if "argument" not in str(exc):
                    raise
                raise ActionError(str(exc).replace(f"{type(self).__name__}.do_", "AnkiConnect.")) from None
            if self.after_action is not None:
                self.after_action(name, params)
        except HangUp:
            raise
        except Exception as exc:  # AnkiConnect answers every failure as its message
            return {"result": None, "error": str(exc)}
        return result if version <= 4 else {"result": result, "error": None}

    # ------------------------------------------------------------------------------------------- helpers

    def _note(self, note_id: int) -> Note:
        try:
            return self.col.get_note(note_id)
        except NotFoundError:
            raise ActionError(f"Note was not found: {note_id}") from None

    def _model(self, name: str) -> dict[str, Any]:
        model = self.col.models.by_name(name)
        if model is None:
            raise ActionError(f"model was not found: {name}")
        return model

    def _card_ids(self, note_id: int) -> list[int]:
        return list(self.col.db.list("select id from cards where nid = ? order by ord", note_id))

    # ------------------------------------------------------------------------------------------- actions

    def do_version(self) -> int:
        return self.version_number

    def do_requestPermission(self, origin: str = "", allowed: bool | None = None) -> dict[str, Any]:  # noqa: N802
        if not self.allowed:
            return {"permission": "denied"}
        return {"permission": "granted", "requireApikey": bool(self.api_key), "version": self.version_number}

    def do_multi(self, actions: list[dict[str, Any]]) -> list[Any]:
        return [self.handle(action) for action in actions]

    def do_sync(self) -> None:
        if self.sync_auth is None:
            raise ActionError("sync: auth not configured")
        out = self.col.sync_collection(self.sync_auth, False)
        accepted = [out.NO_CHANGES, out.NORMAL_SYNC]
        if out.required not in accepted:
            raise ActionError(f"Sync status {out.required} not one of {accepted} - see "
                              "SyncCollectionResponse.ChangesRequired for list of sync statuses: "
                              "https://github.com/ankitects/anki/blob/e41c4573d789afe8b020fab5d9d1eede50c3fa3d/"
                              "proto/anki/sync.proto#L57-L65")

    # decks

    def do_deckNames(self) -> list[str]:  # noqa: N802
        return [d.name for d in self.col.decks.all_names_and_ids()]

    def do_deckNamesAndIds(self) -> dict[str, int]:  # noqa: N802
        return {d.name: d.id for d in self.col.decks.all_names_and_ids()}

    def do_createDeck(self, deck: str) -> int:  # noqa: N802
        return int(self.col.decks.id(deck))

    def do_getDecks(self, cards: list[int]) -> dict[str, list[int]]:  # noqa: N802
        found: dict[str, list[int]] = {}
        for cid in cards:
            did = self.col.db.scalar("select did from cards where id = ?", cid)
            deck = self.col.decks.get(did) if did is not None else None
            found.setdefault(deck["name"] if deck else "Default", []).append(cid)
        return found

    def do_changeDeck(self, cards: list[int], deck: str) -> None:  # noqa: N802
        did = self.col.decks.id(deck)
        self.col.sched.remFromDyn(cards)
        marks = ",".join(str(int(c)) for c in cards)
        self.col.db.execute(f"update cards set usn = ?, mod = ?, did = ? where id in ({marks})",
                            self.col.usn(), int(time.time()), did)

    def do_deleteDecks(self, decks: list[str], cardsToo: bool = False) -> None:  # noqa: N802, N803
        if not cardsToo:
            raise ActionError("Since Anki 2.1.28 it's not possible to delete decks without deleting cards as well")
        names = set(self.do_deckNames())
        for name in decks:
            if name in names:
                self.col.decks.remove([self.col.decks.id(name)])

    def do_getDeckConfig(self, deck: str) -> dict[str, Any] | bool:  # noqa: N802
        if deck not in self.do_deckNames():
            return False
        return self.col.decks.config_dict_for_deck_id(self.col.decks.id(deck))

    def do_setDeckConfigId(self, decks: list[str], configId: int) -> bool:  # noqa: N802, N803
        names = set(self.do_deckNames())
        if any(name not in names for name in decks):
            return False
        for name in decks:
            stored = self.col.decks.get(self.col.decks.id(name))
            stored["conf"] = int(configId)
            self.col.decks.save(stored)
        return True

    # notes

    def do_findNotes(self, query: str | None = None) -> list[int]:  # noqa: N802
        return [] if query is None else [int(n) for n in self.col.find_notes(query)]

    def do_findCards(self, query: str | None = None) -> list[int]:  # noqa: N802
        return [] if query is None else [int(c) for c in self.col.find_cards(query)]

    def do_notesInfo(self, notes: list[int]) -> list[dict[str, Any]]:  # noqa: N802
        answers: list[dict[str, Any]] = []
        for nid in notes:
            try:
                note = self.col.get_note(nid)
            except NotFoundError:
                answers.append({})
                continue
            model = note.note_type()
            answers.append({
                "noteId": note.id,
                "tags": list(note.tags),
                "fields": {f["name"]: {"value": note.fields[f["ord"]], "order": f["ord"]} for f in model["flds"]},
                "modelName": model["name"],
                "cards": self._card_ids(note.id),
            })
        return answers

    def do_updateNoteFields(self, note: dict[str, Any]) -> None:  # noqa: N802
        anki_note = self._note(note["id"])
        for name, value in note["fields"].items():
            if name in anki_note:
                anki_note[name] = value
        self.col.update_note(anki_note)

    def do_updateNote(self, note: dict[str, Any]) -> None:  # noqa: N802
        if "fields" not in note and "tags" not in note:
            raise ActionError('Must provide a "fields" or "tags" property.')
        if "fields" in note:
            self.do_updateNoteFields(note)
        if "tags" in note:
            tags = note["tags"]
            for old in list(self._note(note["id"]).tags):
                self.col.tags.bulk_remove([note["id"]], old)
            for new in tags:
                self.col.tags.bulk_add([note["id"]], new)

    def do_addTags(self, notes: list[int], tags: str, add: bool = True) -> None:  # noqa: N802
        if add:
            self.col.tags.bulk_add(notes, tags)
        else:
            self.col.tags.bulk_remove(notes, tags)

    def do_removeTags(self, notes: list[int], tags: str) -> None:  # noqa: N802
        self.do_addTags(notes, tags, False)

    def do_getNoteTags(self, note: int) -> list[str]:  # noqa: N802
        return list(self._note(note).tags)

    def do_deleteNotes(self, notes: list[int]) -> None:  # noqa: N802
        self.col.remove_notes(notes)

    def _new_note(self, note: dict[str, Any]) -> tuple[Note, int]:
        """A note as ``addNote`` builds it, and the deck it will really land in. The add-on asks for
        ``deckName`` and checks that it exists, but on current Anki the note goes to the deck the note type
        remembers (else the current deck): upstream issue #385, seen on the real add-on."""
        model = self.col.models.by_name(note["modelName"])
        if model is None:
            raise ActionError(f"model was not found: {note['modelName']}")
        if self.col.decks.by_name(note["deckName"]) is None:
            raise ActionError(f"deck was not found: {note['deckName']}")
        anki_note = Note(self.col, model)
        if "tags" in note:
            anki_note.tags = list(note["tags"])
        for name, value in note["fields"].items():
            for real in list(anki_note.keys()):
                if name.lower() == real.lower():
                    anki_note[real] = value
                    break
        remembered = model.get("did")
        landing = remembered if remembered and self.col.decks.get(remembered, default=False) else None
        state = anki_note.fields_check()
        allow = bool(note.get("options", {}).get("allowDuplicate", False))
        if state == 1:
            raise ActionError("cannot create note because it is empty")
        if state == 2 and not allow:
            raise ActionError("cannot create note because it is a duplicate")
        if state not in (0, 2):
            raise ActionError("cannot create note for unknown reason")
        return anki_note, int(landing or self.col.decks.current()["id"])

    def do_addNote(self, note: dict[str, Any]) -> int:  # noqa: N802
        anki_note, deck_id = self._new_note(note)
        self.col.add_note(anki_note, deck_id)
        if not anki_note.card_ids():
            raise ActionError("The field values you have provided would make an empty question on all cards.")
        return int(anki_note.id)

    def do_addNotes(self, notes: list[dict[str, Any]]) -> list[int | None]:  # noqa: N802
        added: list[int | None] = []
        for note in notes:
            try:
                added.append(self.do_addNote(note))
            except Exception:  # the add-on answers null, without the reason
                added.append(None)
        return added

    def do_canAddNotes(self, notes: list[dict[str, Any]]) -> list[bool]:  # noqa: N802
        answers = []
        for note in notes:
            try:
                self._new_note(note)
                answers.append(True)
            except Exception:
                answers.append(False)
        return answers

    def do_importPackage(self, path: str) -> bool:  # noqa: N802
        self.col.import_anki_package(ImportAnkiPackageRequest(
            package_path=path,
            options=ImportAnkiPackageOptions(merge_notetypes=True, with_scheduling=True, with_deck_configs=True)))
        return True

    # note types

    def do_modelNames(self) -> list[str]:  # noqa: N802
        return [m.name for m in self.col.models.all_names_and_ids()]

    def do_modelNamesAndIds(self) -> dict[str, int]:  # noqa: N802
        return {m.name: int(m.id) for m in self.col.models.all_names_and_ids()}

    def do_modelNameFromId(self, modelId: int) -> str:  # noqa: N802, N803
        model = self.col.models.get(modelId)
        if model is None:
            raise ActionError(f"model was not found: {modelId}")
        return model["name"]

    def do_modelFieldNames(self, modelName: str) -> list[str]:  # noqa: N802, N803
        return [f["name"] for f in self._model(modelName)["flds"]]

    def do_modelTemplates(self, modelName: str) -> dict[str, dict[str, str]]:  # noqa: N802, N803
        return {t["name"]: {"Front": t["qfmt"], "Back": t["afmt"]} for t in self._model(modelName)["tmpls"]}

    def do_modelStyling(self, modelName: str) -> dict[str, str]:  # noqa: N802, N803
        return {"css": self._model(modelName)["css"]}

    def do_updateModelStyling(self, model: dict[str, Any]) -> None:  # noqa: N802
        stored = self._model(model["name"])
        stored["css"] = model["css"]
        self.col.models.update_dict(stored)

    def do_updateModelTemplates(self, model: dict[str, Any]) -> None:  # noqa: N802
        stored = self._model(model["name"])
        for template in stored["tmpls"]:
            given = model["templates"].get(template["name"])
            if given:
                template["qfmt"] = given.get("Front") or template["qfmt"]
                template["afmt"] = given.get("Back") or template["afmt"]
        self.col.models.update_dict(stored)

    # media

    def _media_dir(self) -> str:
        return os.path.abspath(self.col.media.dir())

    def do_storeMediaFile(self, filename: str, data: str | None = None, path: str | None = None,  # noqa: N802
                          url: str | None = None, skipHash: str | None = None,  # noqa: N803
                          deleteExisting: bool = True) -> str | None:  # noqa: N803
        if not (data or path or url):
            raise ActionError('You must provide a "data", "path", or "url" field.')
        if url:
            raise ActionError("the test double does not download")
        content = base64.b64decode(data) if data else Path(path or "").read_bytes()
        if deleteExisting:
            self.do_deleteMediaFile(filename)
        return self.col.media.write_data(filename, content)

    def do_retrieveMediaFile(self, filename: str) -> str | bool:  # noqa: N802
        target = os.path.join(self._media_dir(), os.path.basename(filename))
        if not os.path.exists(target):
            return False
        with open(target, "rb") as handle:
            return base64.b64encode(handle.read()).decode("ascii")

    def do_getMediaFilesNames(self, pattern: str = "*") -> list[str]:  # noqa: N802
        return sorted(n for n in os.listdir(self._media_dir()) if fnmatch.fnmatch(n, pattern))

    def do_deleteMediaFile(self, filename: str) -> None:  # noqa: N802
        self.col.media.trash_files([filename])

    def do_getMediaDirPath(self) -> str:  # noqa: N802
        return self._media_dir()

    # the GUI

    def do_guiSelectedNotes(self) -> list[int]:  # noqa: N802
        return list(self.browser_selected)

    def do_guiBrowse(self, query: str | None = None) -> list[int]:  # noqa: N802
        cards = self.do_findCards(query)
        self.browser_selected = [int(self.col.get_card(cards[0]).nid)] if cards else []
        return cards


def threads() -> dict[str, str]:
    """This process's threads, native ones included (``anki``'s runtime threads are not Python's): id → name."""
    found = {}
    for tid in os.listdir("/proc/self/task"):
        with contextlib.suppress(OSError):
            found[tid] = Path(f"/proc/self/task/{tid}/comm").read_text().strip()
    return found


def wait_for_threads(before: dict[str, str], timeout: float) -> dict[str, str]:
    """Wait (at most ``timeout`` seconds) until no thread runs that did not run ``before``; those still running."""
    deadline = time.monotonic() + timeout
    while True:
        left = {tid: name for tid, name in threads().items() if tid not in before}
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)
