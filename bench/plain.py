"""The hand-written equivalent of leadkey's ingest that the benchmarks measure it against.

Each payload is read with ``json``; its phone is keyed with phonenumbers (parse,
validity, E.164) and its email checked with email-validator (no DNS), the plain way; a
payload without a valid phone is dropped; the lead is upserted and a decision appended
(created, updated or dropped, with the payload): into a dict and a list in memory, or
into a SQLite or PostgreSQL table pair, ``INSERT … ON CONFLICT`` per row, committing
every 1000.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email

CHUNK = 1000


def plain_phone_key(value: str, region: str) -> str | None:
    """A phone number's key the plain way: phonenumbers' parse, validity and E.164."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def plain_email(value: str) -> str | None:
    """An email address checked the plain way: email-validator (no DNS)."""
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def plain_decision(line: str) -> tuple[str | None, dict[str, Any]]:
    """The phone's key (None: drop) and the fields to apply, the plain way."""
    fields = json.loads(line)["fields"]
    phone = fields.get("phone")
    key = plain_phone_key(phone, "IN") if isinstance(phone, str) else None
    email = fields.get("email")
    if email is not None and plain_email(email) is None:
        del fields["email"]
    return key, fields


def plain_memory(lines: list[str]) -> float:
    """Hand-written, in memory: a dict of leads and a list of decisions; payloads/s."""
    leads: dict[str, tuple[str, dict[str, Any]]] = {}
    decisions: list[tuple[str, str | None, str]] = []
    started = time.perf_counter()
    for line in lines:
        key, fields = plain_decision(line)
        if key is None:
            decisions.append(("dropped", None, line))
            continue
        lead = leads.get(key)
        if lead is None:
            leads[key] = (str(uuid.uuid4()), fields)
            decisions.append(("created", key, line))
        else:
            lead[1].update(fields)
            decisions.append(("updated", key, line))
    return len(lines) / (time.perf_counter() - started)


def plain_sql(connection: Any, lines: list[str], placeholder: str = "?", after: int = 0) -> float:
    """Hand-written, in SQL: a lead upsert and a decision row each, committing every
    1000 (``connection`` a sqlite3 or psycopg connection to an empty database, or to
    one holding ``after`` payloads already); payloads/s."""
    transaction = connection.transaction if placeholder == "%s" else lambda: connection
    patch = "json_patch(leads.fields, excluded.fields)" if placeholder == "?" else (
        "leads.fields || excluded.fields")  # fmt: skip
    kind, number = ("TEXT", "INTEGER") if placeholder == "?" else ("JSONB", "BIGINT")
    p = placeholder
    if not after:
        with transaction():
            connection.execute(f"CREATE TABLE leads (key TEXT PRIMARY KEY, id TEXT, fields {kind})")
            connection.execute(  # (SQLite: INTEGER PRIMARY KEY is the row id itself)
                f"CREATE TABLE decisions (id {number} PRIMARY KEY, lead TEXT, outcome TEXT, "
                "payload TEXT)"
            )
    started = time.perf_counter()
    for start in range(after, after + len(lines), CHUNK):
        with transaction():
            cursor = connection.cursor()
            for position, line in enumerate(lines[start - after : start - after + CHUNK], start):
                key, fields = plain_decision(line)
                lead, outcome = None, "dropped"
                if key is not None:
                    cursor.execute(f"SELECT id FROM leads WHERE key = {p}", [key])
                    row = cursor.fetchone()
                    lead, outcome = (row[0], "updated") if row else (str(uuid.uuid4()), "created")
                    cursor.execute(
                        f"INSERT INTO leads VALUES ({p}, {p}, {p}) ON CONFLICT (key) DO UPDATE "
                        f"SET fields = {patch}",
                        [key, lead, json.dumps(fields)],
                    )
                cursor.execute(
                    f"INSERT INTO decisions VALUES ({p}, {p}, {p}, {p})",
                    [position, lead, outcome, line],
                )
    return len(lines) / (time.perf_counter() - started)


def plain_sqlite(path: Path, lines: list[str]) -> float:
    """:func:`plain_sql` on a SQLite file in WAL mode."""
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    try:
        return plain_sql(connection, lines)
    finally:
        connection.close()
