"""The PostgreSQL recorder that writes the stored index (needs the ``postgres`` extra)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import Notification, StoredEvent
from eventsourcing.postgres import PostgresProcessRecorder
from psycopg.sql import SQL, Identifier

from .durable_index import TRACKED, create_index_tables, write_index
from .index_tables import PostgresDialect

#: The advisory lock that serializes table creation between processes (any number that
#: other programs on the database are unlikely to take).
SETUP_LOCK = 0x6C6561646B6579  # "leadkey"


class IndexedPostgresRecorder(PostgresProcessRecorder):
    """eventsourcing's PostgreSQL recorder, writing the stored index with every insert of
    events (see ``durable_index``); creates its tables one process at a time."""

    def __init__(self, datastore: Any, *, events_table_name: str = "leadkey_events") -> None:
        super().__init__(
            datastore,
            events_table_name=events_table_name,
            tracking_table_name=events_table_name.removesuffix("_events") + "_tracking",
        )
        self.dialect = PostgresDialect(datastore.schema)
        schema = Identifier(datastore.schema)
        self._events = SQL("{0}.{1}").format(schema, Identifier(events_table_name))
        self._tracking = SQL("{0}.{1}").format(schema, Identifier(self.tracking_table_name))

    def create_table(self) -> None:
        """Create the tables, types and functions under a session advisory lock: the
        library's ``IF NOT EXISTS`` statements are not safe when processes run them at
        once ("tuple concurrently updated", duplicate ``pg_type`` entries)."""
        pool = self.datastore.pool
        # (as the pool reads them: its settings may be given as functions that return them)
        conninfo = pool.conninfo() if callable(pool.conninfo) else pool.conninfo
        kwargs = pool.kwargs() if callable(pool.kwargs) else pool.kwargs or {}
        with psycopg.connect(conninfo, **kwargs) as connection:
            connection.execute("SELECT pg_advisory_lock(%s)", [SETUP_LOCK])
            try:
                super().create_table()
                with self.datastore.transaction(commit=True) as cursor:
                    create_index_tables(cursor, self.dialect)
            finally:
                connection.execute("SELECT pg_advisory_unlock(%s)", [SETUP_LOCK])

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Insert the events, then their index changes, in one transaction that any
        error rolls back (the library's pipelined insert commits what it has when Python
        code after the insert raises)."""
        with self.datastore.transaction(commit=True) as curs:
            self._insert_stored_events(curs, stored_events)  # takes the log's lock
            ids = self._fetch_ids_after_insert_events(curs, stored_events)
            write_index(kwargs, curs, stored_events, ids)
            return ids

    def previous_position(self, c: Any, first: int) -> int:
        statement = SQL("SELECT MAX(notification_id) AS m FROM {0} WHERE notification_id < %s")
        c.execute(statement.format(self._events), [first])
        return c.fetchone()["m"] or 0

    @contextmanager
    def turn(self, workspace: UUID) -> Iterator[None]:
        """Hold the workspace's advisory lock while the block decides and records: other
        leadkey writers of the workspace wait for it instead of deciding a batch that the
        store would refuse (its sequence step taken meanwhile)."""
        key = int.from_bytes(workspace.bytes[:8], "big", signed=True)
        with self.datastore.get_connection() as connection:
            connection.execute("SELECT pg_advisory_lock(%s)", [key])
            try:
                yield
            finally:
                connection.execute("SELECT pg_advisory_unlock(%s)", [key])

    def notifications_after(self, c: Any, after: int, limit: int) -> list[Notification]:
        """The next ``limit`` events of the log after position ``after``, read with ``c``."""
        statement = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM {0} WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
        )
        c.execute(statement.format(self._events), [after, limit])
        return [
            Notification(
                id=row["notification_id"],
                originator_id=row["originator_id"],
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=bytes(row["state"]),
            )
            for row in c.fetchall()
        ]

    def lock_log(self, c: Any) -> None:
        """Take the lock writers of events take, so that none writes meanwhile."""
        self._lock_table(c)

    def forget_position(self, c: Any) -> None:
        statement = SQL("DELETE FROM {0} WHERE application_name = %s")
        c.execute(statement.format(self._tracking), [TRACKED])
