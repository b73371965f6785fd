"""The tables of the stored index: their SQL on SQLite and PostgreSQL, and the rows a
run of events changes in them (see ``durable_index``)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking

from leadkey.domain.decisions import MatchConfig

#: The layout of the tables below and what they hold; tables of another format are rebuilt.
FORMAT = 3

_TABLES = {
    "meta": "leadkey_index_meta",
    "workspaces": "leadkey_index_workspaces",
    "fields": "leadkey_index_fields",
    "leads": "leadkey_index_leads",
    "keys": "leadkey_index_keys",
    "matches": "leadkey_index_matches",
}


class Dialect:
    """How SQL differs between SQLite and PostgreSQL, for the statements here."""

    uuid_type = "BLOB"
    placeholder = "?"
    #: Rows stored in their primary key's order, without a separate index for it.
    clustered = " WITHOUT ROWID"
    #: A lead's number (its creation's log position), the order its rows are stored in.
    position_key = "created INTEGER PRIMARY KEY"

    def __init__(self, schema: str | None = None) -> None:
        prefix = "" if schema is None else '"' + schema.replace('"', '""') + '".'
        self.tables = {name: prefix + table for name, table in _TABLES.items()}

    def sql(self, statement: str) -> str:
        """``statement`` with ``{table}`` names filled in and this dialect's placeholders."""
        text = statement.format(**self.tables)
        return text if self.placeholder == "?" else text.replace("?", self.placeholder)

    def uuid(self, value: UUID) -> Any:
        return value.bytes

    def snapshot(self, cursor: Any) -> None:
        """Make the read transaction of ``cursor`` see one state of the store throughout
        (SQLite's read transactions do)."""

    def from_uuid(self, value: Any) -> UUID:
        return UUID(bytes=bytes(value))

    def in_list(self, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """An ``IN (...)`` operand for ``values`` and its parameters."""
        return "(" + ",".join("?" * len(values)) + ")", list(values)

    def table_exists(self, cursor: Any, table: str) -> bool:
        """Whether the table (a key of the tables above) exists."""
        name = _TABLES[table]
        cursor.execute(
            "SELECT 1 AS one FROM sqlite_master WHERE type = 'table' AND name = ?", [name]
        )
        return bool(cursor.fetchall())

    def create_statements(self) -> list[str]:
        u, clustered = self.uuid_type, self.clustered
        return [
            self.sql(statement)
            for statement in (
                "CREATE TABLE IF NOT EXISTS {meta} ("
                "name TEXT PRIMARY KEY, format INTEGER NOT NULL, anchor TEXT NOT NULL)",
                f"CREATE TABLE IF NOT EXISTS {{workspaces}} (workspace_id {u} PRIMARY KEY, "
                "name TEXT NOT NULL UNIQUE, identifier TEXT NOT NULL, country TEXT NOT NULL, "
                "timezone TEXT NOT NULL, generation INTEGER NOT NULL, sequence INTEGER NOT NULL, "
                "leads BIGINT NOT NULL, indexed BIGINT NOT NULL)",
                f"CREATE TABLE IF NOT EXISTS {{fields}} (workspace_id {u} NOT NULL, "
                "api_name TEXT NOT NULL, field_type TEXT NOT NULL, ordinal INTEGER NOT NULL, "
                "PRIMARY KEY (workspace_id, api_name))",
                # created: the log position of the lead's creation, which numbers it
                f"CREATE TABLE IF NOT EXISTS {{leads}} ({self.position_key}, "
                f"lead_id {u} NOT NULL UNIQUE, workspace_id {u} NOT NULL, "
                "version INTEGER NOT NULL)",
                "CREATE INDEX IF NOT EXISTS leadkey_index_leads_by_workspace "
                "ON {leads} (workspace_id, created)",
                f"CREATE TABLE IF NOT EXISTS {{keys}} (workspace_id {u} NOT NULL, "
                "field TEXT NOT NULL, created BIGINT NOT NULL, key TEXT NOT NULL, "
                "PRIMARY KEY (workspace_id, field, created))" + clustered,
                # the index under the identifier in force: key -> the earliest lead
                f"CREATE TABLE IF NOT EXISTS {{matches}} (workspace_id {u} NOT NULL, "
                "key TEXT NOT NULL, created BIGINT NOT NULL, "
                "PRIMARY KEY (workspace_id, key))" + clustered,
            )
        ]


class PostgresDialect(Dialect):
    uuid_type = "UUID"
    placeholder = "%s"
    clustered = ""
    position_key = "created BIGINT PRIMARY KEY"

    def uuid(self, value: UUID) -> Any:
        return value

    def from_uuid(self, value: Any) -> UUID:
        return value if isinstance(value, UUID) else UUID(str(value))

    def in_list(self, values: Sequence[Any]) -> tuple[str, list[Any]]:
        return "(SELECT unnest(?::text[]))", [list(values)]

    def snapshot(self, cursor: Any) -> None:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")

    def table_exists(self, cursor: Any, table: str) -> bool:
        cursor.execute("SELECT to_regclass(%s) AS found", [self.tables[table]])
        return cursor.fetchone()["found"] is not None


def anchor(position: int, originator_id: Any, version: int, state: bytes) -> str:
    """What identifies the event at ``position`` of one log: its id, version and digest."""
    digest = hashlib.sha256(bytes(state)).hexdigest()[:32]
    return f"{position}:{UUID(str(originator_id)).hex}:{version}:{digest}"


class IndexChanges:
    """The rows a run of events changes, gathered by :class:`IdentifierIndexProjection`
    (it has the command methods of ``IndexView``) and written by :meth:`write`."""

    def __init__(self) -> None:
        #: Configuration statements and runs of lead rows, in log order.
        self.steps: list[tuple[str, list[Any]] | _Rows] = []
        self.sequences: dict[UUID, int] = {}

    # -- the view's commands (see IndexView) -------------------------------------------

    def skip(self, tracking: Tracking) -> None:
        """An event that changes no row."""

    def workspace_created(self, config: MatchConfig, tracking: Tracking) -> None:
        ws = config.workspace_id
        self.steps.append(
            (
                "INSERT INTO {workspaces} (workspace_id, name, identifier, country, timezone, "
                "generation, sequence, leads, indexed) VALUES (?, ?, ?, ?, ?, ?, 0, 0, 0)",
                [ws, config.name, config.identifier, config.country, config.timezone, 0],
            )
        )
        for ordinal, (api_name, field_type) in enumerate(config.fields.items()):
            self.steps.append(
                (
                    "INSERT INTO {fields} (workspace_id, api_name, field_type, ordinal) "
                    "VALUES (?, ?, ?, ?)",
                    [ws, api_name, str(field_type), ordinal],
                )
            )

    def workspace_changed(
        self, workspace: UUID, changes: dict[str, Any], tracking: Tracking
    ) -> None:
        if "api_name" in changes:
            self.steps.append(
                (
                    "INSERT INTO {fields} (workspace_id, api_name, field_type, ordinal) "
                    "SELECT ?, ?, ?, count(*) FROM {fields} WHERE workspace_id = ?",
                    [workspace, changes["api_name"], changes["field_type"], workspace],
                )
            )
        elif "identifier" in changes:  # the index is rebuilt from the new field's keys
            field = changes["identifier"]
            self.steps.extend(
                [
                    ("DELETE FROM {matches} WHERE workspace_id = ?", [workspace]),
                    (
                        "INSERT INTO {matches} (workspace_id, key, created) "
                        "SELECT workspace_id, key, min(created) FROM {keys} "
                        "WHERE workspace_id = ? AND field = ? GROUP BY workspace_id, key",
                        [workspace, field],
                    ),
                    (
                        "UPDATE {workspaces} SET identifier = ?, generation = ?, indexed = "
                        "(SELECT count(*) FROM {matches} WHERE workspace_id = ?) "
                        "WHERE workspace_id = ?",
                        [field, changes["generation"], workspace, workspace],
                    ),
                ]
            )
        else:
            self.steps.append(
                (
                    "UPDATE {workspaces} SET country = ?, generation = ? WHERE workspace_id = ?",
                    [changes["country"], changes["generation"], workspace],
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
        rows = self.steps[-1] if self.steps and isinstance(self.steps[-1], _Rows) else None
        if rows is None:
            rows = _Rows()
            self.steps.append(rows)
        rows.add(workspace, lead, version, keys, key, tracking.notification_id)

    def sequence_stepped(self, workspace: UUID, version: int, tracking: Tracking) -> None:
        self.sequences[workspace] = version

    # -- writing -------------------------------------------------------------------------

    def write(self, cursor: Any, dialect: Dialect) -> None:
        """Execute the gathered changes with ``cursor`` (in the caller's transaction),
        in log order; the sequence versions last."""
        for step in self.steps:
            if isinstance(step, _Rows):
                step.write(cursor, dialect)
            else:
                statement, params = step
                cursor.execute(dialect.sql(statement), [_param(p, dialect.uuid) for p in params])
        if self.sequences:
            u = dialect.uuid
            cursor.executemany(
                dialect.sql("UPDATE {workspaces} SET sequence = ? WHERE workspace_id = ?"),
                [(v, u(ws)) for ws, v in self.sequences.items()],
            )


class _Rows:
    """Lead rows of a run of decisions: each lead's last version and each key's last value."""

    def __init__(self) -> None:
        self.new_leads: dict[UUID, list[Any]] = {}  # lead -> [workspace, created, version]
        self.versions: dict[UUID, int] = {}  # lead created before -> its new version
        self.keys: dict[tuple[UUID, str, UUID], str | None] = {}  # None: removed
        self.created: dict[UUID, list[int]] = {}  # workspace -> [leads, keys indexed]
        self.matched: list[tuple[UUID, str, int]] = []  # (workspace, key, created) to index

    def add(
        self,
        workspace: UUID,
        lead: UUID,
        version: int,
        keys: dict[str, str | None],
        key: str | None,
        position: int,
    ) -> None:
        if version == 1:
            self.new_leads[lead] = [workspace, position, 1]
            counts = self.created.setdefault(workspace, [0, 0])
            counts[0] += 1
            if key is not None:
                counts[1] += 1
                self.matched.append((workspace, key, position))
        elif lead in self.new_leads:
            self.new_leads[lead][2] = version
        else:
            self.versions[lead] = version
        for field, value in keys.items():
            self.keys[workspace, field, lead] = value

    def write(self, cursor: Any, dialect: Dialect) -> None:
        u = dialect.uuid
        if self.new_leads:
            cursor.executemany(
                dialect.sql(
                    "INSERT INTO {leads} (created, lead_id, workspace_id, version) "
                    "VALUES (?, ?, ?, ?)"
                ),
                [(at, u(lead), u(ws), v) for lead, (ws, at, v) in self.new_leads.items()],
            )
        if self.versions:
            cursor.executemany(
                dialect.sql("UPDATE {leads} SET version = ? WHERE lead_id = ?"),
                [(v, u(lead)) for lead, v in self.versions.items()],
            )
        new, upserts, removed = [], [], []
        for (ws, field, lead), key in self.keys.items():
            created = self.new_leads.get(lead)
            if created is not None:
                if key is not None:
                    new.append((u(ws), field, created[1], key))
            elif key is not None:
                upserts.append((u(ws), field, key, u(lead)))
            else:
                removed.append((u(ws), field, u(lead)))
        if new:  # a new lead's keys: appended in the order of the keys table
            cursor.executemany(
                dialect.sql(
                    "INSERT INTO {keys} (workspace_id, field, created, key) VALUES (?, ?, ?, ?)"
                ),
                new,
            )
        if upserts:
            cursor.executemany(
                dialect.sql(
                    "INSERT INTO {keys} (workspace_id, field, created, key) "
                    "SELECT ?, ?, created, ? FROM {leads} WHERE lead_id = ? "
                    "ON CONFLICT (workspace_id, field, created) DO UPDATE SET key = excluded.key "
                    "WHERE {keys}.key <> excluded.key"  # (the same key again: nothing written)
                ),
                upserts,
            )
        if removed:
            cursor.executemany(
                dialect.sql(
                    "DELETE FROM {keys} WHERE workspace_id = ? AND field = ? AND created = "
                    "(SELECT created FROM {leads} WHERE lead_id = ?)"
                ),
                removed,
            )
        if self.matched:  # as the in-memory index's setdefault: an indexed key stays
            cursor.executemany(
                dialect.sql(
                    "INSERT INTO {matches} (workspace_id, key, created) VALUES (?, ?, ?) "
                    "ON CONFLICT (workspace_id, key) DO NOTHING"
                ),
                [(u(ws), key, created) for ws, key, created in self.matched],
            )
        if self.created:
            cursor.executemany(
                dialect.sql(
                    "UPDATE {workspaces} SET leads = leads + ?, indexed = indexed + ? "
                    "WHERE workspace_id = ?"
                ),
                [(leads, indexed, u(ws)) for ws, (leads, indexed) in self.created.items()],
            )


def _param(value: Any, uuid: Callable[[UUID], Any]) -> Any:
    return uuid(value) if isinstance(value, UUID) else value
