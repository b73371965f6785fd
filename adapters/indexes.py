"""Where a ``Leadkey`` application reads its identifier index: in memory or in the store.

Both answer the same questions: a workspace's configuration and sequence version, the
leads a batch's keys match, the counts ``workspace show`` prints, what a switch of
identifier would give.  :class:`MemoryIndex` keeps the projection in this process (the
``memory:`` store, and a read-only process on a store whose stored index is missing,
damaged or behind); :class:`StoredIndex` reads the tables kept with the events, so a
process's start and its reads cost the same at any length of the log.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from itertools import islice
from threading import RLock
from typing import Any, Protocol, cast
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import DomainEvent
from eventsourcing.persistence import Notification, Recording

from leadkey.domain.decisions import MatchConfig
from leadkey.projections.identifier_index import (
    IdentifierIndexProjection,
    IndexView,
    RebuildReport,
    WorkspaceIndex,
)

from .durable_index import DurableIndex, IndexBehind, Matches, WorkspaceState
from .views import WorkspaceInfo, WorkspaceView


class State(Protocol):
    """A workspace's configuration and decision-sequence version, as an index has them."""

    @property
    def config(self) -> MatchConfig: ...
    @property
    def sequence(self) -> int: ...


class Recorded(Protocol):
    """An event as recorded (eventsourcing's ``Recording``), at log position
    ``notification.id``.  leadkey records only its aggregates' events, which are
    ``DomainEvent`` objects (with a ``timestamp``); ``Recording`` says only that they
    follow ``DomainEventProtocol``."""

    @property
    def domain_event(self) -> DomainEvent: ...
    @property
    def notification(self) -> Notification: ...


def _recorded(recordings: list[Recording[UUID]]) -> list[Recorded]:
    """``recordings`` of leadkey's events, typed as such (see :class:`Recorded`)."""
    return cast("list[Recorded]", recordings)


class LeadIndex(Protocol):
    """What the application needs from its identifier index."""

    def state(self, name: str) -> State | None: ...
    def matches(self, state: Any, keys: Iterable[str]) -> Any: ...
    def info(self, state: Any) -> WorkspaceInfo: ...
    def plan(self, state: Any, identifier: str, generation: int) -> RebuildReport: ...
    def view(self, state: Any) -> WorkspaceView: ...
    def lead_pages(self, state: Any, newest_first: bool, size: int) -> Iterator[list[UUID]]: ...
    def put(self, events: Sequence[Any]) -> list[Recorded]: ...
    def catch_up(self) -> None: ...
    def turn(self, workspace: UUID) -> AbstractContextManager[None]: ...


class MemoryIndex:
    """The identifier index as a projection in this process's memory, caught up from the
    log on first use and kept up to date with what this process records.

    ``live``: this process is the log's only writer (``memory:``), so once caught up the
    index changes only with what this process records, and lookups take no lock: they
    never wait for a batch, and may see part of one being indexed (its decisions are
    returned only once all of it is).  Otherwise (read-only, while other processes
    write) every read catches up first.  Reads that go through a whole workspace
    (:meth:`plan`, :meth:`view`) take the lock, which a batch holds while it is
    recorded and indexed.
    """

    def __init__(self, app: Application[UUID], *, live: bool = True) -> None:
        self.app = app
        self.projection = IdentifierIndexProjection(IndexView())
        self.lock = RLock()
        self.live = live
        self.caught_up = False

    def catch_up(self) -> None:
        with self.lock:
            self.projection.catch_up(self.app)
            self.caught_up = True

    def state(self, name: str) -> WorkspaceIndex | None:
        if not (self.live and self.caught_up):
            self.catch_up()
        return self.projection.view.workspace(name)

    def matches(self, state: WorkspaceIndex, keys: Iterable[str]) -> WorkspaceIndex:
        return state

    def info(self, state: WorkspaceIndex) -> WorkspaceInfo:
        return WorkspaceInfo(state.config, len(state.versions), len(state.index))

    def plan(self, state: WorkspaceIndex, identifier: str, generation: int) -> RebuildReport:
        with self.lock:
            return state.plan(identifier, generation)[1]

    def view(self, state: WorkspaceIndex) -> WorkspaceView:
        with self.lock:
            return WorkspaceView.of(state)

    def lead_pages(
        self, state: WorkspaceIndex, newest_first: bool, size: int
    ) -> Iterator[list[UUID]]:
        """The ids of the workspace's leads when the first page is read, in creation order
        or newest first, ``size`` at a time, each page read under the lock.  Leads are
        only ever added, at the end of ``versions``: when some were added between two
        pages, the next page is found again past them (else the reading goes on)."""
        versions = state.versions
        with self.lock:
            total = len(versions)
        listed, seen = 0, -1
        cursor: Iterator[UUID] = iter(())
        while listed < total:
            with self.lock:
                if len(versions) != seen:  # (first page, or leads added meanwhile)
                    seen = len(versions)
                    ordered = reversed(versions) if newest_first else iter(versions)
                    skip = listed + (seen - total if newest_first else 0)
                    cursor = islice(ordered, skip, None)
                page = list(islice(cursor, min(size, total - listed)))
            listed += len(page)
            yield page

    def turn(self, workspace: UUID) -> AbstractContextManager[None]:
        """Nothing to wait for: one process, whose writers take the application's lock."""
        return nullcontext()

    def put(self, events: Sequence[Any]) -> list[Recorded]:
        """Record ``events`` atomically, then bring the index up to date with them."""
        with self.lock:
            recordings = self.app.events.put(events)
            projection = self.projection
            position = projection.position(self.app)
            ids = [r.notification.id for r in recordings]
            if ids and ids[0] == position + 1 and ids[-1] - ids[0] == len(ids) - 1:
                projection.process(
                    ((r.domain_event, r.notification.id) for r in recordings), self.app
                )
            else:
                projection.catch_up(self.app)
            return _recorded(recordings)


class StoredIndex:
    """The identifier index in the store's tables (see ``durable_index``)."""

    def __init__(self, durable: DurableIndex) -> None:
        self.durable = durable

    def catch_up(self) -> None:
        self.durable.catch_up()

    def state(self, name: str) -> WorkspaceState | None:
        return self.durable.state(name)

    def matches(self, state: WorkspaceState, keys: Iterable[str]) -> Matches:
        return self.durable.matches(state, keys)

    def info(self, state: WorkspaceState) -> WorkspaceInfo:
        return WorkspaceInfo(state.config, state.leads, state.indexed)

    def plan(self, state: WorkspaceState, identifier: str, generation: int) -> RebuildReport:
        return self.durable.plan(state.config, identifier, generation)

    def view(self, state: WorkspaceState) -> WorkspaceView:
        return WorkspaceView.of(self.durable.load(state))

    def lead_pages(
        self, state: WorkspaceState, newest_first: bool, size: int
    ) -> Iterator[list[UUID]]:
        return self.durable.lead_pages(state.config.workspace_id, newest_first, size)

    def turn(self, workspace: UUID) -> AbstractContextManager[None]:
        """The store's turn for ``workspace``'s writers, where it has one (PostgreSQL:
        an advisory lock); elsewhere they decide at once and retry when refused."""
        turn = getattr(self.durable.recorder, "turn", None)
        return nullcontext() if turn is None else turn(workspace)

    def put(self, events: Sequence[Any]) -> list[Recorded]:
        """Record ``events`` and their index changes in one transaction.  If another
        program wrote to the log without them, the tables catch up and ``IndexBehind``
        is raised: the caller decides again from them."""
        try:
            recordings = self.durable.app.events.put(events, index=self.durable.writer(events))
        except IndexBehind:
            self.durable.catch_up()
            raise
        return _recorded(recordings)
