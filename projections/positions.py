"""The log positions of one aggregate's events, read from the recorder."""

from __future__ import annotations

import sys
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.sqlite import SQLiteApplicationRecorder

from .identifier_index import read_notifications


def event_positions(app: Application[UUID], originator_id: UUID) -> dict[int, int]:
    """The log position (notification id) of each stored event of one aggregate, by
    version: on SQLite and PostgreSQL one indexed query; on other recorders (in memory)
    a read of the log's notifications, which are not decoded."""
    recorder: Any = app.recorder
    if isinstance(recorder, SQLiteApplicationRecorder):
        return _sqlite_positions(recorder, originator_id)
    postgres = sys.modules.get("eventsourcing.postgres")  # loaded if the store is PostgreSQL
    if postgres is not None and isinstance(recorder, postgres.PostgresApplicationRecorder):
        return _postgres_positions(recorder, originator_id)
    wanted = str(originator_id)
    return {
        notification.originator_version: notification.id
        for notification in read_notifications(app)
        if str(notification.originator_id) == wanted
    }


def _sqlite_positions(recorder: Any, originator_id: UUID) -> dict[int, int]:
    statement = (
        f"SELECT originator_version, rowid FROM {recorder.events_table_name} WHERE originator_id=?"
    )
    uuid_ids = recorder.datastore.originator_id_type == "uuid"
    key = originator_id.hex if uuid_ids else str(originator_id)
    with recorder.datastore.transaction(commit=False) as cursor:
        cursor.execute(statement, [key])
        return {row[0]: row[1] for row in cursor.fetchall()}


def _postgres_positions(recorder: Any, originator_id: UUID) -> dict[int, int]:
    from psycopg.sql import SQL, Identifier  # only with the postgres extra

    select = "SELECT originator_version, notification_id"
    statement = SQL(select + " FROM {schema}.{table} WHERE originator_id = %s").format(
        schema=Identifier(recorder.datastore.schema),
        table=Identifier(recorder.events_table_name),
    )
    with recorder.datastore.get_connection() as connection, connection.cursor() as cursor:
        cursor.execute(statement, [originator_id])
        return {row["originator_version"]: row["notification_id"] for row in cursor.fetchall()}
