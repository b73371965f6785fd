"""A worker process that normalizes ahead of a replay.

The worker reads the same log a little further on than the replay, normalizes the
phone and email values of the payloads it finds there (the costly part of deciding
again, in phonenumbers and email-validator), and sends the results; the replay puts
them in its memos, so that deciding those payloads again finds them computed.

The replay never waits for the worker: a result that arrives late is computed again
by the replay itself, and a worker that falls behind skips forward.  The memos hold
results of pure functions, so the report is the same with or without the worker.
"""

from __future__ import annotations

import time
from contextlib import suppress
from multiprocessing import get_context
from multiprocessing.connection import Connection
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import Tracking
from eventsourcing.utils import get_topic

from leadkey.domain.decisions import normalize_ahead
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

from .application import Leadkey

_DECISION_TOPICS = frozenset(get_topic(cls) for cls in DECISION_EVENTS)
_WORKSPACE_TOPICS = frozenset(get_topic(cls) for cls in WORKSPACE_EVENTS)
_ALL = frozenset((FieldType.PHONE, FieldType.EMAIL))
_PHONE = frozenset((FieldType.PHONE,))


class NormalizingAhead:
    """One worker process normalizing ahead of a replay of ``workspace`` up to ``until``;
    pass it as the replay's ``progress`` callback, inside a ``with`` block.

    ``ahead`` is how many log positions the worker may run ahead of the replay; it
    reads ``page`` notifications at a time and sends the results of each page.
    """

    def __init__(
        self,
        app: Application,
        workspace: str,
        until: int | None = None,
        *,
        ahead: int = 5000,
        page: int = 250,
    ) -> None:
        if app.env.get("PERSISTENCE_MODULE") == "eventsourcing.popo":
            raise ValueError(
                "a worker reads the store itself: it needs a SQLite or PostgreSQL store, "
                "not memory:"
            )
        context = get_context("spawn")
        self._position = context.Value("q", 0, lock=False)
        self._connection, theirs = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_work,
            args=(dict(app.env), workspace, until, self._position, theirs, ahead, page),
            daemon=True,
        )
        self._process.start()
        theirs.close()

    def __call__(self, position: int) -> None:
        """The replay is at ``position``: memoize what the worker sent for after it."""
        self._position.value = position
        connection = self._connection
        try:
            while connection.poll():
                last, journal = connection.recv()
                if last > position:
                    prime(journal)
        except (EOFError, OSError):  # the worker is gone: the replay goes on alone
            pass

    def __enter__(self) -> NormalizingAhead:
        return self

    def __exit__(self, *_: object) -> None:
        self._position.value = -1
        self._connection.close()
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()


def _work(
    env: dict[str, str],
    workspace: str,
    until: int | None,
    position: Any,
    connection: Connection,
    ahead: int,
    page: int,
) -> None:
    """The worker: read pages ahead of ``position`` (the replay's) until the end."""
    keep_journal()
    app = Leadkey(env=env)
    wanted = workspace_id(workspace)
    configs = IdentifierIndexProjection(IndexView())  # fed workspace events only
    after = 0
    with fewer_collections(), suppress(BrokenPipeError, EOFError, OSError, KeyboardInterrupt):
        while (replayed := position.value) >= 0:
            if after >= replayed + ahead:
                time.sleep(0.002)
                continue
            # Fallen behind: skip to two pages past the replay, reading only the
            # configuration changes on the way (normalizing there would race it).
            behind = after < replayed
            # Close ahead, phone numbers only (the costlier part): the replay catches up.
            types = _ALL if after >= replayed + 2 * page else _PHONE
            limit = replayed + 2 * page - after if behind else page
            notifications = app.recorder.select_notifications(
                start=after, limit=limit, stop=until, inclusive_of_start=False
            )
            for notification in notifications:
                topic = notification.topic
                if topic in _WORKSPACE_TOPICS:
                    event = app.mapper.to_domain_event(notification)
                    configs.process_event(event, Tracking(app.name, notification.id))
                elif not behind and topic in _DECISION_TOPICS:
                    event = app.mapper.to_domain_event(notification)
                    index = configs.view.workspaces.get(event.workspace_id)
                    if event.workspace_id == wanted and index is not None:
                        normalize_ahead(index.config, event.payload, types)
            if not notifications:
                break
            journal = take_journal()
            if journal:
                connection.send((notifications[-1].id, journal))
            if len(notifications) < limit:  # the end of the log, or of the replay
                break
            after = notifications[-1].id
    connection.close()
    app.close()


def replay_with_workers(
    app: Application, workspace: str, *, until: int | None = None, workers: int = 1
) -> ReplayReport:
    """:func:`~leadkey.projections.audit.replay`, with a worker normalizing ahead when
    ``workers`` is 1 (0: none).  The report is the same either way."""
    if workers not in (0, 1):
        raise ValueError("workers must be 0 or 1: one worker reads ahead of the replay")
    if not workers:
        return replay(app, workspace, until=until)
    with NormalizingAhead(app, workspace, until) as ahead:
        return replay(app, workspace, until=until, progress=ahead)
