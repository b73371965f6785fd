"""The identifier index kept in the store, beside the events, in the same transactions.

Four tables (their SQL in ``index_tables``) hold what the in-memory
:class:`~leadkey.projections.identifier_index.IndexView` holds, fed by the same
projection from the same events:

- ``leadkey_index_workspaces``: each workspace's configuration and decision-sequence
  version; ``leadkey_index_fields``: its fields;
- ``leadkey_index_leads``: each lead's workspace, creation position and version;
- ``leadkey_index_keys``: each lead's key for every identifier-type field (the
  candidates a switch of identifier indexes by).

The index under the identifier in force is not stored apart: a key matches the
earliest-created lead whose key for the identifier field it is, which is what the
in-memory index holds (rebuilt in creation order at a switch, added to only by
creations).  So a switch changes one row, whatever the number of leads.

eventsourcing's tracking table records the log position the tables reflect, and
``leadkey_index_meta`` the table format and an *anchor*: the position, id, version and
a digest of the event there, so that tables from another store, or ahead of a log
restored from a backup, are found (see :meth:`DurableIndex.problem`).  Every event
leadkey records goes through :class:`IndexedSQLiteRecorder` or
:class:`IndexedPostgresRecorder`, which write the index changes and the tracking
position in the transaction of the events, after checking that the tables were at the
log position just before them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import (
    IntegrityError,
    Notification,
    OperationalError,
    PersistenceError,
    ProgrammingError,
    StoredEvent,
    Tracking,
)
from eventsourcing.sqlite import SQLiteProcessRecorder

from leadkey.domain.decisions import MatchConfig
from leadkey.domain.field_types import FieldType
from leadkey.projections.identifier_index import (
    Collision,
    IdentifierIndexProjection,
    RebuildReport,
    WorkspaceIndex,
)

from .index_tables import FORMAT, Dialect, IndexChanges, anchor

#: The upstream application whose log the tables track (eventsourcing's tracking table).
TRACKED = "leadkey"
#: A position past every log position (positions are signed 64-bit integers).
END = 2**63 - 1
#: How many times creating the tables is tried while other processes create them.
SETUP_ATTEMPTS = 5
#: Events applied per transaction when the tables catch up with the log.
CATCH_UP_PAGE = 5000


#: The record of the tables' format and anchor, for new tables.
START = (
    "INSERT INTO {meta} (name, format, anchor) VALUES ('identifier_index', ?, '') "
    "ON CONFLICT (name) DO NOTHING"
)
NO_META = "the stored index has no record of its format and position: leadkey index rebuild"

#: Called by the recorder with its cursor, the stored events and their log positions.
Writer = Callable[[Any, Sequence[StoredEvent], Sequence[int]], None]


class IndexBehind(PersistenceError):
    """The stored index is not at the log position just before the events being recorded
    (another program wrote to the log): catch it up, then decide again."""


class IndexDamaged(PersistenceError):
    """The stored index lacks its record of format and anchor: rebuild it."""


@dataclass(frozen=True, slots=True)
class WorkspaceState:
    """A workspace's configuration, decision-sequence version and counts of leads and of
    indexed keys, as stored."""

    config: MatchConfig
    sequence: int
    leads: int
    indexed: int


@dataclass(frozen=True, slots=True)
class Matches:
    """The leads a batch's keys match under the identifier in force, with their versions;
    ``current``: whether that identifier was still in force (the same generation) when
    they were read."""

    config: MatchConfig
    sequence: int
    leads: dict[str, UUID]
    versions: dict[UUID, int]
    current: bool = True

    def lookup(self, key: str) -> UUID | None:
        return self.leads.get(key)


class DurableIndex:
    """The stored index of one application's store: its checks, catch-up and reads."""

    def __init__(self, app: Any) -> None:
        self.app: Application[UUID] = app
        #: (an indexed recorder: this module's ``IndexedSQLiteRecorder``, or PostgreSQL's)
        self.recorder: Any = app.recorder
        self.dialect: Dialect = self.recorder.dialect

    # -- position and checks ---------------------------------------------------------------

    def _transaction(self, *, commit: bool) -> Any:
        return self.recorder.datastore.transaction(commit=commit)

    def _execute(self, cursor: Any, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        cursor.execute(self.dialect.sql(statement), list(params))
        return list(cursor.fetchall())

    def position(self) -> int:
        """The log position the stored index reflects (0: none)."""
        return self.positions()[0]

    def positions(self) -> tuple[int, int]:
        """The log position the stored index reflects and the log's last position, read
        as of one moment (0: none)."""
        with self._transaction(commit=False) as cursor:
            self.dialect.snapshot(cursor)
            tracked = self.recorder._max_tracking_id(TRACKED, cursor) or 0
            return tracked, self.recorder.previous_position(cursor, END)

    def problem(self) -> str | None:
        """Why the stored index cannot be trusted (None if it can): tables of another
        format, an anchor that disagrees with the tracking position, a position past the
        end of the log, or another event at that position than the one it was built with.
        It may still be behind the log: :meth:`catch_up` brings it up to date."""
        with self._transaction(commit=False) as cursor:  # one snapshot: a writer that
            self.dialect.snapshot(cursor)  # commits meanwhile is seen whole, or not at all
            rows = self._execute(cursor, "SELECT format, anchor FROM {meta}")
            tracked = self.recorder._max_tracking_id(TRACKED, cursor) or 0
            if tracked == 0 and self._holds_rows(cursor):
                return "is damaged: it holds rows but no position"
        if not rows:
            return None if tracked == 0 else "has no record of its format"
        stored_format, stored_anchor = rows[0]["format"], rows[0]["anchor"]
        if stored_format != FORMAT:
            return f"was written in format {stored_format} (this leadkey writes format {FORMAT})"
        if tracked == 0:
            return None if stored_anchor == "" else "is damaged: it has an anchor but no position"
        if stored_anchor.split(":", 1)[0] != str(tracked):
            return f"is damaged: its anchor is not for its position {tracked}"
        found = self.recorder.select_notifications(start=tracked, limit=1, stop=tracked)
        if not found or found[0].id != tracked:
            last = self.recorder.max_notification_id() or 0
            return (
                f"is ahead of the log: it reflects position {tracked}, the log ends at {last} "
                "(were the events restored from a backup?)"
            )
        n = found[0]
        if anchor(n.id, n.originator_id, n.originator_version, n.state) != stored_anchor:
            return (
                f"was built from another log: the event at position {tracked} is not the one "
                "it was built with"
            )
        return None

    def _holds_rows(self, cursor: Any) -> bool:
        return any(
            self._execute(cursor, f"SELECT 1 AS one FROM {{{table}}} LIMIT 1")
            for table in ("workspaces", "fields", "leads", "keys", "matches")
        )

    def catch_up(self) -> int:
        """Apply the log after the stored position to the tables, a page per transaction;
        return the position reached."""
        while True:
            with self._transaction(commit=False) as cursor:  # one read: the anchor
                rows = self._execute(cursor, "SELECT anchor FROM {meta}")
            if not rows:
                raise IndexDamaged(NO_META)
            old_anchor = rows[0]["anchor"]
            tracked = int(old_anchor.split(":", 1)[0] or 0)
            try:
                with self._transaction(commit=True) as cursor:
                    self.recorder.lock_log(cursor)
                    moved = self._execute(  # first: SQLite's write lock, before any read
                        cursor,
                        "UPDATE {meta} SET anchor = anchor WHERE anchor = ? RETURNING name",
                        [old_anchor],
                    )
                    if not moved:
                        raise IndexBehind("another process moved the stored index")
                    reached = self._apply_log(cursor, tracked, CATCH_UP_PAGE)
            except IndexBehind:
                continue  # another process caught it up meanwhile: start from where it is
            if reached == tracked:
                return tracked

    def _apply_log(self, cursor: Any, after: int, limit: int | None) -> int:
        """Apply the log after position ``after`` (``limit`` events of it; None: all of
        it, a page at a time) to the tables with ``cursor``, and move their position and
        anchor; the position reached."""
        while True:
            notifications = self.recorder.notifications_after(cursor, after, limit or CATCH_UP_PAGE)
            if not notifications:
                return after
            changes = IndexChanges()
            projection = IdentifierIndexProjection(changes)  # type: ignore[arg-type]
            for n in notifications:
                event = self.app.mapper.to_domain_event(n)
                projection.process_event(event, Tracking(TRACKED, n.id))
            changes.write(cursor, self.dialect)
            last = notifications[-1]
            self._moved_to(cursor, last.id, last.originator_id, last.originator_version, last.state)
            after = last.id
            if limit is not None:
                return after

    def _moved_to(self, cursor: Any, position: int, *event: Any) -> None:
        """Record that the tables reflect the log up to ``position``, whose event is
        ``event`` (originator id, version, stored state)."""
        moved = self._execute(
            cursor,
            "UPDATE {meta} SET anchor = ? RETURNING name",
            [anchor(position, *event)],
        )
        if not moved:
            raise IndexDamaged(NO_META)
        self.recorder._insert_tracking(cursor, Tracking(TRACKED, position))

    def rebuild(self) -> int:
        """Build the tables again from the whole log, in one transaction: they are made
        anew (a layout of another format goes), and until the commit other processes
        read the tables as they were, and writers wait; the position reached."""
        with self._transaction(commit=True) as cursor:
            self.recorder.lock_log(cursor)
            self.recorder.forget_position(cursor)  # first: SQLite's write lock
            for table in ("matches", "keys", "leads", "fields", "workspaces", "meta"):
                cursor.execute(self.dialect.sql(f"DROP TABLE IF EXISTS {{{table}}}"))
            for statement in self.dialect.create_statements():
                cursor.execute(statement)
            cursor.execute(self.dialect.sql(START), [FORMAT])
            return self._apply_log(cursor, 0, None)

    def writer(self, events: Sequence[Any]) -> Writer:
        """What the recorder calls, in the transaction that records ``events``, with their
        stored form and log positions: checks the tables were at the position just before
        them, then writes their changes, the tracking position and the anchor."""

        def write(cursor: Any, stored: Sequence[StoredEvent], ids: Sequence[int]) -> None:
            if not ids:
                return
            previous = self.recorder.previous_position(cursor, ids[0])
            tracked = self.recorder._max_tracking_id(TRACKED, cursor) or 0
            if tracked != previous:
                raise IndexBehind(
                    f"the stored index is at position {tracked}, the log at {previous}"
                )
            changes = IndexChanges()
            projection = IdentifierIndexProjection(changes)  # type: ignore[arg-type]
            for event, position in zip(events, ids, strict=True):
                projection.process_event(event, Tracking(TRACKED, position))
            changes.write(cursor, self.dialect)
            last = stored[-1]
            self._moved_to(cursor, ids[-1], last.originator_id, last.originator_version, last.state)

        return write

    # -- reads -------------------------------------------------------------------------------

    def state(self, name: str) -> WorkspaceState | None:
        """The workspace called ``name``: configuration and sequence version (None: none)."""
        with self._transaction(commit=False) as cursor:
            return self._state(cursor, name)

    def _state(self, cursor: Any, name: str) -> WorkspaceState | None:
        rows = self._execute(
            cursor,
            "SELECT workspace_id, identifier, country, timezone, generation, sequence, leads, "
            "indexed FROM {workspaces} WHERE name = ?",
            [name],
        )
        if not rows:
            return None
        row = rows[0]
        fields = self._execute(
            cursor,
            "SELECT api_name, field_type FROM {fields} WHERE workspace_id = ? ORDER BY ordinal",
            [row["workspace_id"]],
        )
        config = MatchConfig(
            workspace_id=self.dialect.from_uuid(row["workspace_id"]),
            name=name,
            fields={f["api_name"]: FieldType(f["field_type"]) for f in fields},
            identifier=row["identifier"],
            country=row["country"],
            timezone=row["timezone"],
            generation=row["generation"],
        )
        return WorkspaceState(config, row["sequence"], row["leads"], row["indexed"])

    def matches(self, state: WorkspaceState, keys: Iterable[str]) -> Matches:
        """The leads ``keys`` match under the identifier in force in ``state``."""
        config = state.config
        wanted = sorted(set(keys))
        leads: dict[str, UUID] = {}
        versions: dict[UUID, int] = {}
        ws = self.dialect.uuid(config.workspace_id)
        with self._transaction(commit=False) as cursor:
            self.dialect.snapshot(cursor)
            [row] = self._execute(
                cursor, "SELECT generation FROM {workspaces} WHERE workspace_id = ?", [ws]
            )
            current = row["generation"] == config.generation
            for start in range(0, len(wanted), 10_000):
                operand, params = self.dialect.in_list(wanted[start : start + 10_000])
                rows = self._execute(
                    cursor,
                    "SELECT m.key AS key, l.lead_id AS lead_id, l.version AS version "
                    "FROM {matches} m JOIN {leads} l ON l.created = m.created "
                    f"WHERE m.workspace_id = ? AND m.key IN {operand}",
                    [ws, *params],
                )
                for row in rows:
                    lead = self.dialect.from_uuid(row["lead_id"])
                    leads[row["key"]] = lead
                    versions[lead] = row["version"]
        return Matches(config, state.sequence, leads, versions, current)

    def lead_pages(self, workspace: UUID, newest_first: bool, size: int) -> Iterator[list[UUID]]:
        """The ids of the workspace's leads when the first page is read, in creation order
        or newest first, ``size`` at a time: each page one indexed read of its own
        transaction, from where the last one ended (nothing is held between pages)."""
        ws = self.dialect.uuid(workspace)
        with self._transaction(commit=False) as cursor:
            last = self._execute(
                cursor, "SELECT max(created) AS last FROM {leads} WHERE workspace_id = ?", [ws]
            )[0]["last"]
        low, high = 0, (last or 0) + 1  # (listed: the leads created between them)
        order = "DESC" if newest_first else "ASC"
        while low + 1 < high:
            with self._transaction(commit=False) as cursor:
                rows = self._execute(
                    cursor,
                    "SELECT created, lead_id FROM {leads} WHERE workspace_id = ? "
                    f"AND created > ? AND created < ? ORDER BY created {order} LIMIT ?",
                    [ws, low, high, size],
                )
            if rows:
                yield [self.dialect.from_uuid(row["lead_id"]) for row in rows]
            if len(rows) < size:
                return
            if newest_first:
                high = rows[-1]["created"]
            else:
                low = rows[-1]["created"]

    def plan(self, config: MatchConfig, identifier: str, generation: int) -> RebuildReport:
        """What indexing the workspace's leads by ``identifier`` gives (see
        ``WorkspaceIndex.plan``), computed in the store."""
        ws = self.dialect.uuid(config.workspace_id)
        from_uuid = self.dialect.from_uuid
        with self._transaction(commit=False) as cursor:
            self.dialect.snapshot(cursor)
            unreachable = self._execute(
                cursor,
                "SELECT lead_id FROM {leads} l WHERE workspace_id = ? AND NOT EXISTS "
                "(SELECT 1 FROM {keys} k WHERE k.workspace_id = l.workspace_id "
                "AND k.field = ? AND k.created = l.created) ORDER BY created",
                [ws, identifier],
            )
            shared = self._execute(
                cursor,
                "SELECT k.key AS key, l.lead_id AS lead_id FROM {keys} k "
                "JOIN {leads} l ON l.created = k.created "
                "WHERE k.workspace_id = ? AND k.field = ? AND k.key IN "
                "(SELECT key FROM {keys} WHERE workspace_id = ? AND field = ? "
                "GROUP BY key HAVING count(*) > 1) ORDER BY k.created",
                [ws, identifier, ws, identifier],
            )
            totals = self._execute(
                cursor,
                "SELECT (SELECT leads FROM {workspaces} WHERE workspace_id = ?) AS leads, "
                "(SELECT count(DISTINCT key) FROM {keys} WHERE workspace_id = ? AND field = ?) "
                "AS indexed",
                [ws, ws, identifier],
            )[0]
        winners: dict[str, UUID] = {}
        losers: dict[str, list[UUID]] = {}
        for row in shared:
            lead = from_uuid(row["lead_id"])
            if row["key"] in winners:
                losers.setdefault(row["key"], []).append(lead)
            else:
                winners[row["key"]] = lead
        return RebuildReport(
            workspace=config.name,
            identifier=identifier,
            identifier_type=str(config.fields[identifier]),
            generation=generation,
            leads=totals["leads"],
            indexed=totals["indexed"],
            unreachable=tuple(from_uuid(row["lead_id"]) for row in unreachable),
            collisions=tuple(
                Collision(key, winners[key], tuple(others)) for key, others in losers.items()
            ),
        )

    def load(self, state: WorkspaceState) -> WorkspaceIndex:
        """The whole workspace as an in-memory :class:`WorkspaceIndex` (reads every lead)."""
        with self._transaction(commit=False) as cursor:
            self.dialect.snapshot(cursor)
            return self._load(cursor, state)

    def snapshot(self, name: str) -> tuple[int, WorkspaceIndex | None, tuple[int, int] | None]:
        """The stored position, the workspace's whole index and its stored counts of
        leads and indexed keys (None: no such workspace), read as of one moment."""
        with self._transaction(commit=False) as cursor:
            self.dialect.snapshot(cursor)
            position = self.recorder._max_tracking_id(TRACKED, cursor) or 0
            state = self._state(cursor, name)
            if state is None:
                return position, None, None
            index = self._load(cursor, state)
        return position, index, (state.leads, state.indexed)

    def _load(self, cursor: Any, state: WorkspaceState) -> WorkspaceIndex:
        config = state.config
        ws = self.dialect.uuid(config.workspace_id)
        from_uuid = self.dialect.from_uuid
        index = WorkspaceIndex(config)
        for row in self._execute(
            cursor,
            "SELECT lead_id, version FROM {leads} WHERE workspace_id = ? ORDER BY created",
            [ws],
        ):
            index.versions[from_uuid(row["lead_id"])] = row["version"]
        for row in self._execute(
            cursor,
            "SELECT k.field AS field, k.key AS key, l.lead_id AS lead_id FROM {keys} k "
            "JOIN {leads} l ON l.created = k.created WHERE k.workspace_id = ? ORDER BY k.created",
            [ws],
        ):
            index.candidates.setdefault(row["field"], {})[from_uuid(row["lead_id"])] = row["key"]
        index.sequence = state.sequence
        index.report = index.plan(config.identifier, config.generation)[1]
        for row in self._execute(
            cursor,
            "SELECT m.key AS key, l.lead_id AS lead_id FROM {matches} m "
            "JOIN {leads} l ON l.created = m.created WHERE m.workspace_id = ? ORDER BY m.created",
            [ws],
        ):
            index.index[row["key"]] = from_uuid(row["lead_id"])
        return index


def differences(
    stored: WorkspaceIndex | None, counts: tuple[int, int] | None, rebuilt: WorkspaceIndex | None
) -> list[str]:
    """How a stored workspace index (with its stored counts of leads and indexed keys)
    differs from one rebuilt from the log at the same position: a line per difference."""
    if stored is None or rebuilt is None:
        where = "the stored index" if stored is None else "the log"
        return [] if stored is rebuilt else [f"the workspace is missing from {where}"]
    found: list[str] = []
    if stored.config != rebuilt.config:
        found.append(f"configuration: stored {stored.config}, from the log {rebuilt.config}")
    if stored.sequence != rebuilt.sequence:
        found.append(f"sequence version: stored {stored.sequence}, from the log {rebuilt.sequence}")
    if list(stored.versions) != list(rebuilt.versions):
        missing = [lead for lead in rebuilt.versions if lead not in stored.versions]
        extra = [lead for lead in stored.versions if lead not in rebuilt.versions]
        found.extend(f"lead {lead} is missing from the stored index" for lead in missing)
        found.extend(f"lead {lead} is not in the log" for lead in extra)
        if not missing and not extra:
            found.append("the leads are stored in another order than they were created")
    for lead, version in rebuilt.versions.items():
        if stored.versions.get(lead, version) != version:
            stored_version = stored.versions[lead]
            found.append(f"lead {lead}: version {stored_version} stored, {version} in the log")
    for field in sorted(set(stored.candidates) | set(rebuilt.candidates)):
        ours, theirs = stored.candidates.get(field, {}), rebuilt.candidates.get(field, {})
        for lead in sorted(set(ours) | set(theirs), key=str):
            if ours.get(lead) != theirs.get(lead):
                found.append(
                    f"lead {lead}, {field!r} key: stored {ours.get(lead)!r}, "
                    f"from the log {theirs.get(lead)!r}"
                )
    for key in sorted(set(stored.index) | set(rebuilt.index)):
        stored_lead, rebuilt_lead = stored.index.get(key), rebuilt.index.get(key)
        if stored_lead != rebuilt_lead:
            found.append(
                f"key {key!r} matches lead {stored_lead} stored, {rebuilt_lead} from the log"
            )
    expected = (len(rebuilt.versions), len(rebuilt.index))
    if counts != expected:
        found.append(f"counts of leads and indexed keys: stored {counts}, from the log {expected}")
    return found


#: A writer's write-ahead log is copied into the file (checkpointed) when it passes 16,384
#: pages (64 MiB), not SQLite's 1,000: each batch of decisions touches a page of each
#: index at random per payload, so at 1,000 every commit of a large store checkpoints
#: and rewrites those pages again; a larger log rewrites a page once for many commits
#: (ingest about 10 % faster, over the first and the last 100,000 of 1,000,000
#: payloads).  Once checkpointed, the log file is cut back to 64 MiB.
_WAL_SETTINGS = ("PRAGMA wal_autocheckpoint = 16384", "PRAGMA journal_size_limit = 67108864")


class IndexedSQLiteRecorder(SQLiteProcessRecorder):
    """eventsourcing's SQLite recorder, writing the stored index with every insert of
    events (``insert_events(..., index=DurableIndex.writer(events))``)."""

    dialect = Dialect()

    def create_table(self) -> None:
        """Create the tables; when another process creates them at the same moment, the
        library's first record in the tracking table fails here, or SQLite refuses a
        write after a read that another writer overtook: try again (they then exist)."""
        for attempt in range(SETUP_ATTEMPTS):
            try:
                super().create_table()
                with self.datastore.transaction(commit=True) as cursor:
                    create_index_tables(cursor, self.dialect)
                return
            except (IntegrityError, OperationalError):
                if attempt == SETUP_ATTEMPTS - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))

    def _insert_events(
        self, c: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        for setting in _WAL_SETTINGS:  # (the connection's, not the transaction's)
            c.execute(setting)
        ids = super()._insert_events(c, stored_events, **kwargs)
        write_index(kwargs, c, stored_events, ids)
        return ids

    def previous_position(self, c: Any, first: int) -> int:
        c.execute(f"SELECT MAX(rowid) FROM {self.events_table_name} WHERE rowid < ?", [first])
        return c.fetchone()[0] or 0

    def notifications_after(self, c: Any, after: int, limit: int) -> list[Notification]:
        """The next ``limit`` events of the log after position ``after``, read with ``c``
        (in its transaction: a store in memory has one connection)."""
        c.execute(
            "SELECT rowid, originator_id, originator_version, topic, state FROM "
            f"{self.events_table_name} WHERE rowid > ? ORDER BY rowid LIMIT ?",
            [after, limit],
        )
        return [
            Notification(
                id=row["rowid"],
                originator_id=self.convert_originator_id(row["originator_id"]),
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=row["state"],
            )
            for row in c.fetchall()
        ]

    def lock_log(self, c: Any) -> None:
        """SQLite: a transaction's first write takes the file's write lock."""

    def forget_position(self, c: Any) -> None:
        c.execute("DELETE FROM tracking WHERE application_name = ?", [TRACKED])


def create_index_tables(cursor: Any, dialect: Dialect) -> None:
    """Create the stored index's tables and their record of format and anchor, unless
    tables of another format are there (opening finds them, and rebuilds them anew)."""
    if dialect.table_exists(cursor, "meta"):
        cursor.execute(dialect.sql("SELECT format FROM {meta}"))
        rows = cursor.fetchall()
        if rows and rows[0]["format"] != FORMAT:
            return
    for statement in dialect.create_statements():
        cursor.execute(statement)
    cursor.execute(dialect.sql(START), [FORMAT])


def is_indexed(recorder: Any) -> bool:
    """Whether ``recorder`` writes the stored index with the events it records."""
    return callable(getattr(recorder, "lock_log", None))


def write_index(
    kwargs: dict[str, Any], cursor: Any, stored: Sequence[StoredEvent], ids: Sequence[int] | None
) -> None:
    """Call the writer passed as ``index=`` to ``insert_events`` (it must be there: events
    recorded without their index changes would leave the stored index behind)."""
    write = kwargs.get("index")
    if write is None:
        raise ProgrammingError("leadkey's store records events only with their index changes")
    write(cursor, stored, ids or [])
