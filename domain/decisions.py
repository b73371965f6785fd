"""The create-or-update decision: a pure function of the configuration in force,
the identifier index and one raw payload."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from .errors import UnusableValue
from .field_types import IDENTIFIER_TYPES, FieldRejected, FieldType, FieldValue, coerce
from .lead import DroppedPayload, Lead, lead_id
from .normalization import NORMALIZER_VERSIONS, email_key, phone_key, text_key
from .outcomes import DropReason as DropReason
from .outcomes import Outcome as Outcome
from .payload import MAX_FIELDS, PayloadRefused, parse

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class MatchConfig:
    """A workspace's configuration as in force at one position of the log."""

    workspace_id: UUID
    name: str
    fields: Mapping[str, FieldType]
    identifier: str
    country: str
    timezone: str
    generation: int

    @property
    def identifier_type(self) -> FieldType:
        return self.fields[self.identifier]

    def as_dict(self) -> dict[str, Any]:
        """The configuration in JSON types (the shape of ``workspace show --json``)."""
        return {
            "workspace": self.name,
            "workspace_id": str(self.workspace_id),
            "country": self.country,
            "timezone": self.timezone,
            "identifier": self.identifier,
            "identifier_type": str(self.identifier_type),
            "generation": self.generation,
            "fields": {api: str(t) for api, t in self.fields.items()},
        }


_REASONS = frozenset(DropReason)


@dataclass(frozen=True, slots=True)
class Decision:
    """What happened to one payload, and everything needed to explain it.

    Once recorded, ``position`` is its place in the log (pass it to ``explain_position``
    or ``find(at=)``) and ``recorded_at`` the time it was recorded (UTC); both are None
    for a decision not recorded (a replay's, a what-if's), and neither takes part in
    comparing decisions: the same payload decided the same way is the same decision.
    """

    outcome: Outcome
    payload: str
    lead_id: UUID | None = None
    key: str | None = None
    reason: DropReason | None = None
    message: str | None = None
    applied: dict[str, Any] = field(default_factory=dict)
    keys: dict[str, str | None] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)
    ignored: dict[str, str] = field(default_factory=dict)
    config: MatchConfig | None = None
    position: int | None = field(default=None, compare=False)
    recorded_at: datetime | None = field(default=None, compare=False)
    repeated: bool = field(default=False, compare=False)

    def recorded(self, position: int, recorded_at: datetime) -> Decision:
        """This decision as recorded at log ``position``, at ``recorded_at`` (what
        ``dataclasses.replace`` gives, at half its cost: once per payload ingested)."""
        return Decision(
            self.outcome,
            self.payload,
            self.lead_id,
            self.key,
            self.reason,
            self.message,
            self.applied,
            self.keys,
            self.rejected,
            self.ignored,
            self.config,
            position,
            recorded_at,
            self.repeated,
        )

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (the CLI's ``--json`` shape)."""
        return {
            "decision": str(self.outcome),
            "lead_id": str(self.lead_id) if self.lead_id else None,
            "key": self.key,
            "reason": str(self.reason) if self.reason else None,
            "message": self.message,
            "applied": self.applied,
            "rejected": self.rejected,
            "ignored": self.ignored,
            "position": self.position,
            "recorded_at": self.recorded_at.isoformat() if self.recorded_at else None,
            "repeated": self.repeated,
        }

    @classmethod
    def of_event(cls, event: Any, position: int | None = None) -> Decision:
        """The decision a recorded decision event holds, as recorded (``config`` is not
        recorded whole: None), at log ``position``."""
        common = {"payload": event.payload, "position": position, "recorded_at": event.timestamp}
        if isinstance(event, DroppedPayload.PayloadDropped):
            reason = DropReason(event.reason) if event.reason in _REASONS else None
            return cls(Outcome.DROPPED, reason=reason, message=event.message, **common)
        return cls(
            Outcome.CREATED if isinstance(event, Lead.LeadCreated) else Outcome.UPDATED,
            lead_id=event.originator_id,
            key=event.key,
            applied=dict(event.applied),
            keys=dict(event.keys),
            rejected=dict(event.rejected),
            ignored=dict(event.ignored),
            **common,
        )

    def record(self, source: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The attributes a decision event records (see ``Lead`` and ``DroppedPayload``)."""
        config = self.config
        record: dict[str, Any] = {
            "payload": self.payload,
            "identifier": config.identifier if config else None,
            "identifier_type": str(config.identifier_type) if config else None,
            "country": config.country if config else None,
            "generation": config.generation if config else None,
            "normalizer": NORMALIZER_VERSIONS,
            "source": dict(source) if source else None,
        }
        if self.outcome is not Outcome.DROPPED:
            record.update(
                key=self.key,
                applied=self.applied,
                keys=self.keys,
                rejected=self.rejected,
                ignored=list(self.ignored.items()),
            )
        return record


def identifier_value(field_type: FieldType, raw: object, country: str) -> FieldValue:
    """The value to store and the matching key of an identifier; raises ``UnusableValue``."""
    if field_type is FieldType.PHONE:
        key = phone_key(raw, country)
        return FieldValue(key, key)
    if field_type is FieldType.EMAIL:
        email = email_key(raw)
        return FieldValue(email.display, email.key)
    if field_type is FieldType.TEXT:
        return FieldValue(raw, text_key(raw))
    raise UnusableValue(f"a {field_type} field cannot be the lead identifier")


def identifier_key(field_type: FieldType, raw: object, country: str) -> str:
    """The matching key of an identifier value; raises ``UnusableValue``."""
    key = identifier_value(field_type, raw, country).key
    assert key is not None
    return key


@dataclass(frozen=True, slots=True)
class Prepared:
    """A payload parsed and normalized under ``config``: all that is left is the match.

    ``dropped`` is set when the payload is dropped whatever the index holds.  Otherwise
    ``applied`` and ``keys`` include the identifier field, as for a created lead.
    """

    payload: str
    config: MatchConfig | None
    dropped: Decision | None = None
    key: str | None = None
    applied: dict[str, Any] = field(default_factory=dict)
    keys: dict[str, str | None] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)
    ignored: dict[str, str] = field(default_factory=dict)


def decide(
    config: MatchConfig | None,
    payload: str,
    lookup: Callable[[str], UUID | None],
) -> Decision:
    """Decide what the raw JSON ``payload`` does in the workspace ``config``.

    ``lookup`` maps a normalized key to the lead that holds it under the identifier
    in force (or None).  ``config`` is None for a workspace that does not exist.
    """
    return conclude(prepare(config, payload), lookup)


def prepare(config: MatchConfig | None, payload: str) -> Prepared:
    """Parse ``payload`` and normalize every value under ``config`` (the costly, index-free
    half of :func:`decide`).  What cannot be processed is dropped; it raises only when
    this process cannot decide at all (``RecursionError``, ``MemoryError``: a decision
    never depends on the stack or on memory)."""
    try:
        return _prepare(config, payload)
    except (RecursionError, MemoryError):
        raise
    except Exception as error:  # a defect, not a payload's fault: still one recorded decision
        message = f"cannot be processed: {type(error).__name__}: {error}"
        return _drop(payload, config, DropReason.PAYLOAD_MALFORMED, message)


def _prepare(config: MatchConfig | None, payload: str) -> Prepared:
    if config is None:
        return _drop(payload, None, DropReason.UNKNOWN_WORKSPACE, "no such workspace")
    try:
        body = parse(payload)
    except PayloadRefused as refused:
        return _drop(payload, config, refused.reason, refused.message)
    if _SURROGATE_ESCAPE.search(payload) and has_unpaired_surrogate(body):
        return _drop(
            payload,
            config,
            DropReason.PAYLOAD_MALFORMED,
            "the payload escapes an unpaired surrogate (\\udXXX): not valid Unicode text",
        )
    fields = body.get("fields") if isinstance(body, dict) else None
    if not isinstance(fields, dict):
        return _drop(
            payload,
            config,
            DropReason.PAYLOAD_MALFORMED,
            'the payload must be a JSON object with a "fields" object',
        )
    actions = body.get("actions", [])
    if not isinstance(actions, list):
        return _drop(payload, config, DropReason.PAYLOAD_MALFORMED, '"actions" must be an array')
    if len(fields) > MAX_FIELDS:
        return _drop(
            payload,
            config,
            DropReason.TOO_MANY_FIELDS,
            f'"fields" has {len(fields):,} entries; the limit is {MAX_FIELDS:,}',
        )

    identifier = config.identifier
    raw_identifier = fields.get(identifier)
    if raw_identifier is None:
        return _drop(
            payload,
            config,
            DropReason.IDENTIFIER_MISSING,
            f"no value for the lead identifier field {identifier!r}",
        )
    try:
        matched = identifier_value(config.identifier_type, raw_identifier, config.country)
    except UnusableValue as error:
        reason = DropReason.IDENTIFIER_EMPTY if error.empty else DropReason.IDENTIFIER_UNUSABLE
        return _drop(payload, config, reason, f"identifier {identifier!r}: {error.reason}")

    applied: dict[str, Any] = {}
    keys: dict[str, str | None] = {}
    rejected: dict[str, str] = {}
    ignored: dict[str, str] = {}
    for api_name, raw in fields.items():
        field_type = config.fields.get(api_name)
        if field_type is None:
            ignored[api_name] = "not a field of this workspace"
            continue
        if raw is None:
            ignored[api_name] = "null means not supplied"
            continue
        if api_name == identifier:
            value = matched
        else:
            try:
                value = coerce(field_type, raw, country=config.country, timezone=config.timezone)
            except FieldRejected as error:
                rejected[api_name] = str(error)
                continue
        applied[api_name] = value.stored
        if field_type in IDENTIFIER_TYPES:
            keys[api_name] = value.key  # None: this lead has no key for the field now
    if actions:
        ignored["actions"] = (
            f"{len(actions)} action(s) kept in the recorded payload, not applied: "
            "leadkey does not keep lead timelines yet"
        )
    return Prepared(payload, config, None, matched.key, applied, keys, rejected, ignored)


def conclude(prepared: Prepared, lookup: Callable[[str], UUID | None]) -> Decision:
    """Finish a prepared payload: the lead its key matches is updated, else one is created.

    An existing lead's identifier value never changes: another spelling only matches.
    """
    if prepared.dropped is not None:
        return prepared.dropped
    config, key = prepared.config, prepared.key
    assert config is not None and key is not None
    lead, created = matched_lead(config, key, lookup)
    applied, keys = prepared.applied, prepared.keys
    if not created:
        applied = {k: v for k, v in applied.items() if k != config.identifier}
        keys = {k: v for k, v in keys.items() if k != config.identifier}
    return Decision(
        outcome=Outcome.CREATED if created else Outcome.UPDATED,
        payload=prepared.payload,
        lead_id=lead,
        key=key,
        applied=applied,
        keys=keys,
        rejected=prepared.rejected,
        ignored=prepared.ignored,
        config=config,
    )


def matched_lead(
    config: MatchConfig, key: str, lookup: Callable[[str], UUID | None]
) -> tuple[UUID, bool]:
    """The lead that ``key`` matches and False, or the id of the lead it creates and True."""
    existing = lookup(key)
    if existing is not None:
        return existing, False
    return lead_id(config.workspace_id, config.generation, key), True


def has_unpaired_surrogate(value: object) -> bool:
    """Whether a string in ``value`` (a JSON value) holds an unpaired surrogate, which is
    not Unicode text and cannot be recorded as UTF-8."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _drop(payload: str, config: MatchConfig | None, reason: DropReason, message: str) -> Prepared:
    decision = Decision(
        outcome=Outcome.DROPPED, payload=payload, reason=reason, message=message, config=config
    )
    return Prepared(payload, config, dropped=decision)
