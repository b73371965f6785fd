"""A worker process that normalizes ahead of a replay.

The worker reads the same log a little further on than the replay, normalizes the
phone and email values of the payloads it finds there (the costly part of deciding
again, in phonenumbers and email-validator), and sends the results; the replay puts
them in its memos, so that deciding those payloads again finds them computed.

The replay does not wait for the worker's results: one that arrives late is computed
by the replay itself, and a worker that falls behind skips forward.  The memos hold
results of pure functions, so the report is the same with or without the worker.
"""

from __future__ import annotations

import time
from multiprocessing import Pipe, Value
from multiprocessing.connection import Connection
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Tracking
from eventsourcing.utils import get_topic

from leadkey.domain.decisions import normalize_ahead
from leadkey.domain.errors import InvalidArgument
from leadkey.domain.field_types import FieldType
from leadkey.domain.lead import DECISION_EVENTS
from leadkey.domain.normalization import keep_journal, prime, take_journal
from leadkey.domain.workspace import WORKSPACE_EVENTS, workspace_id
from leadkey.projections.audit import ReplayReport, replay
from leadkey.projections.identifier_index import (
    IdentifierIndexProjection,
    IndexView,
    fewer_collections,
)

from .event_log import LeadLog
from .processes import start_worker, stop_worker
from .stores import StoreError

_DECISION_TOPICS = frozenset(get_topic(cls) for cls in DECISION_EVENTS)
_WORKSPACE_TOPICS = tuple(get_topic(cls) for cls in WORKSPACE_EVENTS)
_ALL = frozenset((FieldType.PHONE, FieldType.EMAIL))
_PHONE = frozenset((FieldType.PHONE,))


class NormalizingAhead:
    """One worker process normalizing ahead of a replay of ``workspace`` up to ``until``;
    pass it as the replay's ``progress`` callback, inside a ``with`` block.

    ``ahead`` is how many log positions the worker may run ahead of the replay; it
    reads ``page`` notifications at a time and sends the results of each page.  The
    store must be one that another process can read: a SQLite file or PostgreSQL
    (:class:`StoreError` otherwise).  The worker is spawned, so a script using it needs
    the ``if __name__ == "__main__"`` guard.
    """

    def __init__(
        self,
        app: Application[UUID],
        workspace: str,
        until: int | None = None,
        *,
        ahead: int = 5000,
        page: int = 250,
    ) -> None:
        env = dict(app.env)
        module = env.get("PERSISTENCE_MODULE")
        dbname = env.get("SQLITE_DBNAME", "")
        shared = module == "eventsourcing.postgres" or (
            module == "eventsourcing.sqlite"
            and dbname != ":memory:"
            and "mode=memory" not in dbname
        )
        if not shared:
            raise StoreError(
                "a worker reads the store itself: it needs a SQLite file or PostgreSQL, "
                "not a store in memory"
            )
        self._position = Value("q", 0, lock=False)
        self._connection, theirs = Pipe(duplex=False)
        self._process = start_worker(
            _work, env, workspace, until, self._position, theirs, ahead, page
        )
        theirs.close()
        self._gone = False

    def __call__(self, position: int) -> None:
        """The replay is at ``position``: memoize what the worker sent for from there on."""
        self._position.value = position
        if self._gone:
            return
        connection = self._connection
        try:
            while connection.poll():
                last, journal = connection.recv()
                if last >= position:
                    prime(journal)
        except (EOFError, OSError):  # the worker is gone: the replay goes on alone
            self._gone = True

    def __enter__(self) -> NormalizingAhead:
        return self

    def __exit__(self, *_: object) -> None:
        self._position.value = -1
        self._connection.close()
        stop_worker(self._process, timeout=0.5)  # it only reads: no need to wait long


def _work(
    env: dict[str, str],
    workspace: str,
    until: int | None,
    position: Any,
    connection: Connection,
    ahead: int,
    page: int,
) -> None:
    """The worker: read pages ahead of ``position`` (the replay's) until the end.

    Whatever goes wrong here only means fewer results sent, so it ends quietly.
    """
    app = None
    try:
        app = LeadLog(env=env)
        keep_journal()
        log = _Log(app, workspace)
        after = 0
        with fewer_collections():
            while (replayed := position.value) >= 0:
                if after >= replayed + ahead:
                    time.sleep(0.002)
                elif after < replayed:  # fallen behind: skip past it (racing it is waste)
                    target = replayed + 2 * page
                    target = target if until is None else min(target, until)
                    log.read(after, target - after, target, None)
                    after = target
                else:  # close ahead, phone numbers only (the costlier part)
                    types = _ALL if after >= replayed + 2 * page else _PHONE
                    last, full = log.read(after, page, until, types)
                    journal = take_journal()
                    if journal:
                        connection.send((last, journal))
                    if not full:  # the end of the log, or of the replay
                        return
                    after = last
    except Exception:  # the replay computes what the worker does not send
        pass
    finally:
        connection.close()
        if app is not None:
            app.close()


class _Log:
    """The worker's reading of the log: the configuration in force, and normalizing."""

    def __init__(self, app: Application[UUID], workspace: str) -> None:
        self.app = app
        self.wanted = workspace_id(workspace)
        self.configs = IdentifierIndexProjection(IndexView())  # fed workspace events only

    def read(
        self, after: int, limit: int, stop: int | None, types: frozenset[FieldType] | None
    ) -> tuple[int, bool]:
        """Follow the configuration events after ``after`` (at most ``limit`` events, up
        to ``stop``) and normalize the payloads' fields of ``types`` (None: only follow).
        Returns the last position read and whether ``limit`` events were read."""
        app = self.app
        notifications = app.recorder.select_notifications(
            start=after,
            limit=limit,
            stop=stop,
            topics=_WORKSPACE_TOPICS if types is None else (),
            inclusive_of_start=False,
        )
        for notification in notifications:
            topic = notification.topic
            if topic in _WORKSPACE_TOPICS:
                event = app.mapper.to_domain_event(notification)
                self.configs.process_event(event, Tracking(app.name, notification.id))
            elif types is not None and topic in _DECISION_TOPICS:
                event = app.mapper.to_domain_event(notification)
                if not isinstance(event, DECISION_EVENTS):  # (its topic says it is one)
                    continue
                index = self.configs.view.workspaces.get(event.workspace_id)
                if event.workspace_id == self.wanted and index is not None:
                    normalize_ahead(index.config, event.payload, types)
        last = notifications[-1].id if notifications else after
        return last, len(notifications) == limit


def replay_with_workers(
    app: Application[UUID], workspace: str, *, until: int | None = None, workers: int = 1
) -> ReplayReport:
    """:func:`~leadkey.projections.audit.replay`, with a worker normalizing ahead when
    ``workers`` is 1 (0: none).  The report is the same either way."""
    if workers not in (0, 1):
        raise InvalidArgument("workers must be 0 or 1: one worker reads ahead of the replay")
    if not workers:
        return replay(app, workspace, until=until)
    with NormalizingAhead(app, workspace, until) as ahead:
        return replay(app, workspace, until=until, progress=ahead)
