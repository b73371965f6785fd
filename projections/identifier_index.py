"""The identifier index: normalized key -> lead, per workspace, built only from events.

The index follows the identifier in force.  When the identifier field (or the
default country) changes it is rebuilt from every lead's key for the new field, in
lead creation order: the earliest-created lead wins a shared key, and the others are
reported as collisions, never merged and never added to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from threading import Lock
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Notification, Tracking
from eventsourcing.popo import POPOTrackingRecorder
from eventsourcing.projection import Projection

from leadkey.domain.decisions import MatchConfig
from leadkey.domain.field_types import FieldType
from leadkey.domain.lead import Lead
from leadkey.domain.sequence import DecisionSequence
from leadkey.domain.workspace import Workspace


@dataclass(frozen=True, slots=True)
class Collision:
    """Several leads share one key: ``winner`` (the earliest created) gets matched."""

    key: str
    winner: UUID
    others: tuple[UUID, ...]


@dataclass(frozen=True, slots=True)
class RebuildReport:
    """What indexing the workspace's leads by ``identifier`` gives (under ``generation``).

    Each lead is counted once: ``leads == indexed + len(unreachable) + shadowed``.

    - ``leads``: the workspace's leads;
    - ``indexed``: the leads the index reaches, one per key it holds (the earliest created
      lead with that key), so also the number of keys in the index;
    - ``unreachable``: the leads without a key for ``identifier`` (no usable value), in
      creation order: no payload can match them;
    - ``collisions``: the keys several leads have, each with the lead matched (its
      ``winner``, counted in ``indexed``) and the ``others``, which no payload can match
      either (:attr:`shadowed` counts them).
    """

    workspace: str
    identifier: str
    identifier_type: str
    generation: int
    leads: int
    indexed: int
    unreachable: tuple[UUID, ...]
    collisions: tuple[Collision, ...]

    @property
    def shadowed(self) -> int:
        """The leads with a key that a lead created before them has (the ``others`` of
        every collision): neither indexed nor unreachable, but never matched."""
        return sum(len(collision.others) for collision in self.collisions)

    def as_dict(self) -> dict[str, Any]:
        return {
            "workspace": self.workspace,
            "identifier": self.identifier,
            "identifier_type": self.identifier_type,
            "generation": self.generation,
            "leads": self.leads,
            "indexed": self.indexed,
            "shadowed": self.shadowed,
            "unreachable": [str(lead) for lead in self.unreachable],
            "collisions": [
                {"key": c.key, "winner": str(c.winner), "others": [str(o) for o in c.others]}
                for c in self.collisions
            ],
        }


class WorkspaceIndex:
    """One workspace's configuration, lead versions, candidate keys and index."""

    def __init__(self, config: MatchConfig) -> None:
        self.config = config
        #: lead -> current version; insertion order is creation order.
        self.versions: dict[UUID, int] = {}
        #: field -> lead -> key, for every field of an identifier type.
        self.candidates: dict[str, dict[UUID, str]] = {}
        #: key -> lead, under the identifier in force.
        self.index: dict[str, UUID] = {}
        #: The version of the workspace's DecisionSequence (0: not started).
        self.sequence = 0
        self.report = self.plan(config.identifier, config.generation)[1]

    def lookup(self, key: str) -> UUID | None:
        return self.index.get(key)

    def plan(self, identifier: str, generation: int) -> tuple[dict[str, UUID], RebuildReport]:
        """Index every lead by ``identifier`` without changing anything."""
        values = self.candidates.get(identifier, {})
        index: dict[str, UUID] = {}
        losers: dict[str, list[UUID]] = {}
        unreachable: list[UUID] = []
        for lead in self.versions:
            key = values.get(lead)
            if key is None:
                unreachable.append(lead)
            elif key in index:
                losers.setdefault(key, []).append(lead)
            else:
                index[key] = lead
        collisions = tuple(
            Collision(key, index[key], tuple(others)) for key, others in losers.items()
        )
        report = RebuildReport(
            workspace=self.config.name,
            identifier=identifier,
            identifier_type=str(self.config.fields[identifier]),
            generation=generation,
            leads=len(self.versions),
            indexed=len(index),
            unreachable=tuple(unreachable),
            collisions=collisions,
        )
        return index, report

    def reconfigure(self, config: MatchConfig) -> None:
        """Adopt ``config``; a new identifier field rebuilds the index."""
        identifier_moved = config.identifier != self.config.identifier
        generation_moved = config.generation != self.config.generation
        if identifier_moved:
            self.index, self.report = self.plan(config.identifier, config.generation)
        elif generation_moved:
            self.report = self.plan(config.identifier, config.generation)[1]
        # last: a reader that finds ``config`` unchanged after reading ``index`` has read
        # an index of that configuration (see ``Leadkey.find``)
        self.config = config

    def lead_recorded(
        self, lead: UUID, version: int, keys: dict[str, str | None], key: str | None
    ) -> None:
        if version == 1:
            self.versions[lead] = 1
            if key is not None:
                self.index.setdefault(key, lead)
        else:
            self.versions[lead] = version
        candidates = self.candidates
        for field, value in keys.items():
            values = candidates.get(field)
            if value is not None:
                if values is None:
                    candidates[field] = {lead: value}
                else:
                    values[lead] = value
            elif values is not None:
                values.pop(lead, None)


class IndexView(POPOTrackingRecorder):
    """The in-memory identifier index of every workspace, with its log position."""

    def __init__(self) -> None:
        super().__init__()
        self.workspaces: dict[UUID, WorkspaceIndex] = {}
        self.names: dict[str, UUID] = {}

    def _track(self, tracking: Tracking) -> None:
        self._assert_tracking_uniqueness(tracking)
        self._insert_tracking(tracking)

    def skip(self, tracking: Tracking) -> None:
        with self._database_lock:
            self._track(tracking)

    def workspace_created(self, config: MatchConfig, tracking: Tracking) -> None:
        with self._database_lock:
            self._track(tracking)
            self.workspaces[config.workspace_id] = WorkspaceIndex(config)
            self.names[config.name] = config.workspace_id

    def workspace_changed(
        self, workspace: UUID, changes: dict[str, Any], tracking: Tracking
    ) -> None:
        with self._database_lock:
            self._track(tracking)
            index = self.workspaces[workspace]
            config = index.config
            fields = dict(config.fields)
            if "api_name" in changes:
                fields[changes["api_name"]] = FieldType(changes["field_type"])
            index.reconfigure(
                MatchConfig(
                    workspace_id=config.workspace_id,
                    name=config.name,
                    fields=fields,
                    identifier=changes.get("identifier", config.identifier),
                    country=changes.get("country", config.country),
                    timezone=config.timezone,
                    generation=changes.get("generation", config.generation),
                )
            )

    def lead_recorded(
        self,
        workspace: UUID,
        lead: UUID,
        version: int,
        keys: dict[str, str | None],
        key: str | None,
        tracking: Tracking,
    ) -> None:
        with self._database_lock:
            self._track(tracking)
            self.workspaces[workspace].lead_recorded(lead, version, keys, key)

    def sequence_stepped(self, workspace: UUID, version: int, tracking: Tracking) -> None:
        with self._database_lock:
            self._track(tracking)
            self.workspaces[workspace].sequence = version

    def workspace(self, name: str) -> WorkspaceIndex | None:
        """The index of the workspace called ``name``, if it exists."""
        workspace = self.names.get(name)
        return self.workspaces[workspace] if workspace else None


class IdentifierIndexProjection(Projection[IndexView]):
    """Maintains an :class:`IndexView` from the application's events."""

    def __init__(self, view: IndexView) -> None:
        super().__init__(view)
        self.catch_up_lock = Lock()

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Apply one event of the log to the view (any other event only moves the position)."""
        handler = self._handlers.get(type(domain_event))
        if handler is None:
            self.view.skip(tracking)
        else:
            handler(self, domain_event, tracking)

    def _workspace_created(self, e: Workspace.WorkspaceCreated, tracking: Tracking) -> None:
        config = MatchConfig(
            workspace_id=e.originator_id,
            name=e.name,
            fields={api: FieldType(t) for api, t in e.fields.items()},
            identifier=e.identifier,
            country=e.country,
            timezone=e.timezone,
            generation=0,
        )
        self.view.workspace_created(config, tracking)

    def _field_added(self, e: Workspace.FieldAdded, tracking: Tracking) -> None:
        changes = {"api_name": e.api_name, "field_type": e.field_type}
        self.view.workspace_changed(e.originator_id, changes, tracking)

    def _identifier_changed(self, e: Workspace.IdentifierChanged, tracking: Tracking) -> None:
        changes = {"identifier": e.new_field, "generation": e.generation}
        self.view.workspace_changed(e.originator_id, changes, tracking)

    def _country_changed(self, e: Workspace.DefaultCountryChanged, tracking: Tracking) -> None:
        changes = {"country": e.new_country, "generation": e.generation}
        self.view.workspace_changed(e.originator_id, changes, tracking)

    def _lead(self, e: Lead.LeadCreated | Lead.LeadFieldsUpdated, tracking: Tracking) -> None:
        self.view.lead_recorded(
            e.workspace_id, e.originator_id, e.originator_version, e.keys, e.key, tracking
        )

    def _sequence(
        self, e: DecisionSequence.SequenceStarted | DecisionSequence.Stepped, tracking: Tracking
    ) -> None:
        self.view.sequence_stepped(e.workspace_id, e.originator_version, tracking)

    _handlers: ClassVar[dict[type, Callable[..., None]]] = {
        Workspace.WorkspaceCreated: _workspace_created,
        Workspace.FieldAdded: _field_added,
        Workspace.IdentifierChanged: _identifier_changed,
        Workspace.DefaultCountryChanged: _country_changed,
        Lead.LeadCreated: _lead,
        Lead.LeadFieldsUpdated: _lead,
        DecisionSequence.SequenceStarted: _sequence,
        DecisionSequence.Stepped: _sequence,
    }

    def position(self, app: Application[UUID]) -> int:
        """The last log position this projection has processed (0 if none)."""
        return self.view.max_tracking_id(app.name) or 0

    def process(self, events: Iterable[tuple[Any, int]], app: Application[UUID]) -> None:
        """Process ``(domain_event, notification_id)`` pairs, in log order."""
        for domain_event, notification_id in events:
            self.process_event(domain_event, Tracking(app.name, notification_id))

    def catch_up(self, app: Application[UUID], stop: int | None = None, page: int = 1000) -> int:
        """Process every event after this projection's position, up to ``stop``."""
        with self.catch_up_lock:
            self.process(read_log(app, self.position(app), stop, page), app)
            return self.position(app)


def read_log(
    app: Application[UUID], after: int = 0, stop: int | None = None, page: int = 1000
) -> Iterator[tuple[Any, int]]:
    """Stream ``(domain_event, notification_id)`` from the application's log, in order
    (see :func:`read_notifications`)."""
    for notification in read_notifications(app, after, stop, page):
        yield app.mapper.to_domain_event(notification), notification.id


def read_notifications(
    app: Application[UUID], after: int = 0, stop: int | None = None, page: int = 1000
) -> Iterator[Notification]:
    """Stream the application's log as stored (not decoded), in order, after position
    ``after`` up to ``stop``, ``page`` notifications per query."""
    while True:
        notifications = app.recorder.select_notifications(
            start=after, limit=page, stop=stop, inclusive_of_start=False
        )
        yield from notifications
        if len(notifications) < page:
            return
        after = notifications[-1].id


def index_at(app: Application[UUID], position: int | None = None) -> IdentifierIndexProjection:
    """A fresh index built from the log up to ``position`` (the whole log if None)."""
    projection = IdentifierIndexProjection(IndexView())
    projection.catch_up(app, stop=position)
    return projection
