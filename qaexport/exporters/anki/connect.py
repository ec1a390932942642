"""AnkiConnect, the add-on through which a running Anki takes requests (API version 6): the one place qaexport
talks to it.

Requests are JSON over HTTP, one per connection (the add-on closes each after its answer). The add-on serves one
request at a time from Anki's main thread and reads a request body a kilobyte at a time, copying what it has
so far on each read: a body's reading time grows with the square of its size (about a twentieth of a second at
512 KiB, minutes at 16 MiB). So many actions travel in ``multi`` requests of bounded size, sent one after
another, and files travel by path when Anki is on this machine.

Every failure to talk to Anki is one line (:class:`AnkiConnectError`, exit 4) that says what to do; the API
key is sent with every action (the add-on checks it on each action inside ``multi`` too) and never appears in
any message.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ...errors import QaexportError, UsageError
from ...limits import mib

DEFAULT_URL = "http://127.0.0.1:8765"
API_VERSION = 6
ADDON_CODE = "2055492159"
#: ``multi`` requests stay within these (one action larger than the body bound still goes, alone).
MAX_BODY = 512 * 1024
MAX_ACTIONS = 250
#: An answer larger than this is refused: 10,000 notes' fields are ~40 MiB; nothing we ask for comes near.
MAX_ANSWER = 512 * 1024 * 1024
KEY_REFUSED = "valid api key must be provided"
#: What to do when Anki went away during a push: every step is found again by Key on the next run (push.py).
RERUN = "run the same push again: it finishes the job, adding nothing twice"


class AnkiConnectError(QaexportError):
    """Anki could not be reached, or refused: not running, too old, permission or key refused, a timeout."""

    exit_code = 4


class ActionError(AnkiConnectError):
    """Anki answered an action with an error (its own words, kept in ``reason``)."""

    def __init__(self, action: str, reason: str) -> None:
        self.action = action
        self.reason = reason
        super().__init__(f"Anki refused {action}: {reason}")


@dataclass(frozen=True)
class Outcome:
    """One action's answer inside ``multi``: a result, or Anki's error message."""

    result: Any = None
    error: str | None = None


@dataclass(frozen=True)
class Endpoint:
    url: str
    host: str
    port: int
    path: str
    tls: bool
    local: bool  # a loopback address: Anki runs on this machine, files can go by path


def endpoint(url: str, allow_remote: bool) -> Endpoint:
    """``--url`` checked: http(s), a host, and a loopback address unless ``allow_remote`` (the key and every
    note travel as they are; over plain http anyone on the way reads them)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--url {url!r}: give an http address such as {DEFAULT_URL}")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise UsageError(f"--url {url!r}: give a plain address such as {DEFAULT_URL} (no user, query or #)")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UsageError(f"--url {url!r}: the port is not a number between 0 and 65535") from None
    host = parts.hostname
    local = _loopback(host)
    if not local and not allow_remote:
        raise UsageError(f"--url {url}: {host} is not this machine; the API key and your notes would travel over "
                         "the network" + (" unencrypted" if parts.scheme == "http" else "") +
                         ". Pass --allow-remote if that is what you want")
    return Endpoint(f"{parts.scheme}://{parts.netloc}{parts.path or ''}", host, port, parts.path or "/",
                    parts.scheme == "https", local)


def _loopback(host: str) -> bool:
    if host.rstrip(".").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class AnkiConnect:
    """A client of one AnkiConnect. ``requests`` counts the HTTP requests sent (the benchmark reports it)."""

    where: Endpoint
    key: str | None = field(default=None, repr=False)  # never printed
    timeout: float = 60.0
    requests: int = 0
    answered: int = 0  # requests Anki answered: once one has, a lost connection stops a push midway

    # ---------------------------------------------------------------------------------------------- wire

    def _post(self, payload: dict[str, Any]) -> Any:
        body = json.dumps(payload).encode("utf-8")
        cls = http.client.HTTPSConnection if self.where.tls else http.client.HTTPConnection
        conn = cls(self.where.host, self.where.port, timeout=self.timeout)
        self.requests += 1
        try:
            conn.request("POST", self.where.path, body=body, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            data = response.read(MAX_ANSWER + 1)
        except ConnectionRefusedError:
            if self.answered:
                raise AnkiConnectError(f"nothing is listening at {self.where.url} any more (Anki quit during the "
                                       f"push?): start Anki with the AnkiConnect add-on and {RERUN}") from None
            raise AnkiConnectError(f"nothing is listening at {self.where.url}: start Anki with the AnkiConnect "
                                   f"add-on (code {ADDON_CODE}), or check --url") from None
        except TimeoutError:
            raise AnkiConnectError(f"Anki at {self.where.url} did not answer within {self.timeout:g} s: it may be "
                                   "busy or showing a dialog; close the dialog, or give --timeout more seconds, and "
                                   f"{RERUN}") from None
        except socket.gaierror as exc:
            raise AnkiConnectError(f"--url {self.where.url}: cannot find the host {self.where.host} "
                                   f"({exc.strerror or exc})") from None
        except (http.client.HTTPException, OSError) as exc:
            if isinstance(exc, http.client.RemoteDisconnected):
                reason = "it closed the connection without answering"
            else:
                reason = getattr(exc, "strerror", None) or type(exc).__name__
            then = f"Anki is running with AnkiConnect and {RERUN}" if self.answered else \
                "Anki is running with AnkiConnect and push again"
            raise AnkiConnectError(f"cannot talk to Anki at {self.where.url} ({reason}); check that {then}") \
                from None
        finally:
            conn.close()
        self.answered += 1
        if response.status == 403:
            raise AnkiConnectError(f"AnkiConnect at {self.where.url} refused the request (HTTP 403: it does not "
                                   "allow this client's origin); check webCorsOriginList in the add-on's config")
        if response.status != 200:
            raise AnkiConnectError(f"{self.where.url} answered HTTP {response.status}, not AnkiConnect; check --url")
        if len(data) > MAX_ANSWER:
            raise AnkiConnectError(f"{self.where.url} answered with more than {mib(MAX_ANSWER)}; check --url")
        try:
            return json.loads(data)
        except ValueError:
            shown = "".join(c if c.isprintable() else " " for c in data[:60].decode("utf-8", "replace")).strip()
            raise AnkiConnectError(f"{self.where.url} answered with something that is not AnkiConnect's JSON "
                                   f"({shown!r}); check --url") from None

    def _unwrap(self, action: str, answer: Any) -> Any:
        if not isinstance(answer, dict) or "result" not in answer or "error" not in answer:
            raise AnkiConnectError(f"{self.where.url} does not answer like AnkiConnect (API version {API_VERSION}) "
                                   f"to {action}; check --url, or update the add-on")
        if answer["error"] is not None:
            self._key_refused(str(answer["error"]))
            raise ActionError(action, str(answer["error"]))
        return answer["result"]

    def _key_refused(self, error: str) -> None:
        if error == KEY_REFUSED:
            if self.key:
                raise AnkiConnectError(f"AnkiConnect at {self.where.url} refused the API key; give the key set in "
                                       "the add-on's config (--api-key or QAEXPORT_ANKICONNECT_KEY)")
            raise AnkiConnectError(f"AnkiConnect at {self.where.url} needs an API key; give it with --api-key or "
                                   "QAEXPORT_ANKICONNECT_KEY")

    def _request(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        request: dict[str, Any] = {"action": action, "version": API_VERSION, "params": params}
        if self.key:
            request["key"] = self.key
        return request

    # ---------------------------------------------------------------------------------------------- calls

    def call(self, action: str, **params: Any) -> Any:
        """One action; its result, or :class:`ActionError` with Anki's reason."""
        return self._unwrap(action, self._post(self._request(action, params)))

    def multi(self, calls: Sequence[tuple[str, dict[str, Any]]],
              advance: Callable[[int], None] = lambda _n: None) -> list[Outcome]:
        """Many actions in ``multi`` requests of bounded size, one after another; an outcome per action (a
        failed action does not stop the others)."""
        outcomes: list[Outcome] = []
        for batch in self._batches(calls):
            answers = self.call("multi", actions=batch)
            if not isinstance(answers, list) or len(answers) != len(batch):
                raise AnkiConnectError(f"{self.where.url} answered multi with {type(answers).__name__}, not a list "
                                       "of answers; update the AnkiConnect add-on")
            for answer in answers:
                if not isinstance(answer, dict) or "error" not in answer:
                    raise AnkiConnectError(f"{self.where.url} does not answer like AnkiConnect inside multi; "
                                           "update the add-on")
                error = None if answer["error"] is None else str(answer["error"])
                if error is not None:
                    self._key_refused(error)
                outcomes.append(Outcome(answer.get("result"), error))
            advance(len(batch))
        return outcomes

    def _batches(self, calls: Sequence[tuple[str, dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
        batch: list[dict[str, Any]] = []
        size = 0
        for action, params in calls:
            request = self._request(action, params)
            length = len(json.dumps(request)) + 2
            if batch and (len(batch) >= MAX_ACTIONS or size + length > MAX_BODY):
                yield batch
                batch, size = [], 0
            batch.append(request)
            size += length
        if batch:
            yield batch

    def handshake(self) -> int:
        """Check that an AnkiConnect this client may use answers: permission, version, key. The API version."""
        try:
            answer = self.call("requestPermission")
        except ActionError:  # add-ons before requestPermission: ask the version
            answer = None
        if isinstance(answer, dict):
            if answer.get("permission") != "granted":
                raise AnkiConnectError(f"AnkiConnect at {self.where.url} denied permission to this client; allow "
                                       "it in Anki (the add-on's webCorsOriginList, ignoreOriginList)")
            if answer.get("requireApikey") and not self.key:
                self._key_refused(KEY_REFUSED)
        version = self.call("version")
        if not isinstance(version, int) or version < API_VERSION:
            raise AnkiConnectError(f"AnkiConnect at {self.where.url} speaks API version {version}; qaexport needs "
                                   f"{API_VERSION} or later: update the add-on (Tools › Add-ons › Check for Updates)")
        return version
