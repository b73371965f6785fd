"""Audit: replay a workspace's log and re-derive every recorded decision.

The replay reads the log in order with a fresh identifier index, and for every
recorded decision decides its recorded raw payload again under the configuration and
index in force just before it.  Any difference from what was recorded is a
divergence; one recorded under another version of leadkey's rules or other library
versions (the metadata of phonenumbers changes between releases) is reported as such,
not as corruption.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import Tracking

from leadkey.domain.decisions import Decision, decide
from leadkey.domain.errors import InvalidArgument
from leadkey.domain.lead import DECISION_EVENTS, DroppedPayload, Lead
from leadkey.domain.normalization import NORMALIZER_VERSIONS
from leadkey.domain.rules import RULES_VERSION, rules_version
from leadkey.domain.workspace import WORKSPACE_EVENTS, workspace_id

from .configuration import ConfigurationExplained, explain_configuration
from .identifier_index import IdentifierIndexProjection, IndexView, read_log
from .positions import event_positions

_COMPARED = ("outcome", "lead_id", "key", "reason", "applied", "rejected", "ignored")


@dataclass(frozen=True, slots=True)
class Divergence:
    """A recorded decision that the log and its payload no longer re-derive."""

    position: int
    differences: dict[str, tuple[Any, Any]]  # name -> (recorded, replayed)
    recorded_normalizer: str

    @property
    def kind(self) -> str:
        """Why it diverges: ``rules`` (recorded under another version of leadkey's rules),
        ``versions`` (under other library versions) or ``log`` (neither explains it)."""
        if rules_version(self.recorded_normalizer) != RULES_VERSION:
            return "rules"
        return "versions" if self.recorded_normalizer != NORMALIZER_VERSIONS else "log"

    @property
    def explained(self) -> bool:
        """Whether an upgrade of leadkey or of its libraries can explain the divergence
        (the decision was recorded under other versions; a replay cannot tell that from
        an altered record)."""
        return self.kind != "log"

    def as_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "kind": self.kind,
            "differences": {
                name: {"recorded": _plain(old), "replayed": _plain(new)}
                for name, (old, new) in self.differences.items()
            },
            "cause": self.cause,
        }

    @property
    def cause(self) -> str:
        """The divergence's kind, in words."""
        if self.kind == "rules":
            return (
                f"recorded under leadkey rules {rules_version(self.recorded_normalizer)}; "
                f"these are rules {RULES_VERSION}"
            )
        if self.kind == "versions":
            return (
                f"normalizer versions differ (recorded: {self.recorded_normalizer}; "
                f"now: {NORMALIZER_VERSIONS})"
            )
        return "the log does not re-derive this decision"


@dataclass(frozen=True, slots=True)
class ReplayReport:
    """What replaying a workspace's log up to ``position`` found.

    - ``position``: the last log position read (0: none);
    - ``decisions``: the workspace's recorded decisions up to ``position``, by outcome
      (``created``, ``updated``, ``dropped``; an outcome without any is left out),
      payloads sent before the workspace existed (dropped) included;
    - ``divergences``: those decisions that the replay decides otherwise, in log order,
      so ``len(divergences) <= sum(decisions.values())``; :meth:`kinds` counts them by
      kind, adding up to ``len(divergences)``.
    """

    workspace: str
    position: int
    decisions: dict[str, int]
    divergences: tuple[Divergence, ...]

    @property
    def verified(self) -> bool:
        """Whether every divergence (if any) is explained by an upgrade of leadkey's rules
        or of its libraries: the log itself re-derives every decision it can."""
        return all(divergence.explained for divergence in self.divergences)

    @property
    def exact(self) -> bool:
        """Whether every decision is re-derived as recorded."""
        return not self.divergences

    def kinds(self) -> dict[str, int]:
        """How many divergences of each :attr:`Divergence.kind`."""
        return dict(Counter(divergence.kind for divergence in self.divergences))

    def as_dict(self) -> dict[str, Any]:
        return {
            "workspace": self.workspace,
            "position": self.position,
            "decisions": self.decisions,
            "verified": self.verified,
            "exact": self.exact,
            "divergence_kinds": self.kinds(),
            "divergences": [d.as_dict() for d in self.divergences],
        }


def replay(
    app: Application[UUID],
    workspace: str,
    *,
    until: int | None = None,
) -> ReplayReport:
    """Re-decide every recorded decision of ``workspace`` up to log position ``until``."""
    wanted = workspace_id(workspace)
    projection = IdentifierIndexProjection(IndexView())
    counts: Counter[str] = Counter()
    divergences = []
    position = 0
    for event, position in read_log(app, stop=until):
        if isinstance(event, DECISION_EVENTS) and event.workspace_id == wanted:
            index = projection.view.workspaces.get(wanted)
            config = index.config if index else None
            lookup = index.lookup if index else _nothing
            recorded = _recorded(event)
            replayed = _comparable(decide(config, event.payload, lookup))
            counts[recorded[0]] += 1
            if recorded != replayed:
                differences = {
                    name: (old, new)
                    for name, old, new in zip(_COMPARED, recorded, replayed, strict=True)
                    if old != new
                }
                divergences.append(Divergence(position, differences, event.normalizer))
        projection.process_event(event, Tracking(app.name, position))
    return ReplayReport(workspace, position, dict(counts), tuple(divergences))


def _nothing(_key: str) -> None:
    return None


def _recorded(event: Any) -> tuple[Any, ...]:
    """What ``event`` recorded, in the order of :data:`_COMPARED`."""
    if isinstance(event, DroppedPayload.PayloadDropped):
        return ("dropped", None, None, event.reason, {}, {}, [])
    return (
        "created" if isinstance(event, Lead.LeadCreated) else "updated",
        event.originator_id,
        event.key,
        None,
        event.applied,
        event.rejected,
        [list(pair) for pair in event.ignored],
    )


def _comparable(decision: Decision) -> tuple[Any, ...]:
    """The same of a replayed decision."""
    return (
        str(decision.outcome),
        decision.lead_id,
        decision.key,
        str(decision.reason) if decision.reason else None,
        decision.applied,
        decision.rejected,
        [list(pair) for pair in decision.ignored.items()],
    )


def _plain(value: Any) -> Any:
    """``value`` if it is None or of a JSON type (exactly: an enum is no string), else its
    string (a lead id)."""
    return value if value is None or type(value) in _JSON_TYPES else str(value)


_JSON_TYPES = (str, int, float, bool, dict, list)


@dataclass(frozen=True, slots=True)
class DecisionExplained:
    """One recorded decision, in an auditor's terms."""

    position: int
    outcome: str
    lead_id: UUID | None  # (None: dropped)
    identifier: str | None
    generation: int | None
    raw_identifier: Any
    key: str | None
    reason: str | None
    message: str | None
    changes: dict[str, tuple[Any, Any]]  # field -> (old, new)
    unchanged: tuple[str, ...]
    rejected: dict[str, str]
    ignored: dict[str, str]
    source: dict[str, Any] | None
    recorded_at: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "outcome": self.outcome,
            "lead_id": _plain(self.lead_id),
            "identifier": self.identifier,
            "generation": self.generation,
            "raw_identifier": self.raw_identifier,
            "key": self.key,
            "reason": self.reason,
            "message": self.message,
            "changes": {f: {"old": old, "new": new} for f, (old, new) in self.changes.items()},
            "unchanged": list(self.unchanged),
            "rejected": self.rejected,
            "ignored": self.ignored,
            "source": self.source,
            "recorded_at": self.recorded_at,
        }

    def why(self) -> str:
        """The decision in one sentence."""
        spelled = f"{self.identifier} {self.raw_identifier!r}"
        if self.outcome == "dropped":
            return f"dropped ({self.reason}): {self.message}"
        if self.outcome == "created":
            return (
                f"created lead {self.lead_id}: {spelled} normalized to key {self.key!r}, "
                f"which no lead held under generation {self.generation}"
            )
        return (
            f"updated lead {self.lead_id}: {spelled} normalized to key {self.key!r}, "
            f"which that lead held under generation {self.generation}"
        )


def explain_lead(app: Application[UUID], lead_id: UUID | str) -> list[DecisionExplained]:
    """Every decision that created or updated the lead, with old -> new field values and
    the log position of each (lead ids are global: no workspace is needed).

    ``lead_id`` is a UUID or any string ``uuid.UUID`` reads (upper case, ``urn:uuid:``,
    braces, 32 hex digits).  Reads the lead's own events and their log positions (see
    :func:`~leadkey.projections.positions.event_positions`), not the log, on SQLite and
    PostgreSQL.  Raises ``eventsourcing.application.AggregateNotFoundError`` for an
    unknown lead (or an id that is not a lead's), ``ValueError`` for a string that is
    not a UUID.
    """
    lead_id = lead_id if isinstance(lead_id, UUID) else UUID(str(lead_id))
    kinds = (Lead.LeadCreated, Lead.LeadFieldsUpdated)
    events = [e for e in app.events.get(lead_id) if isinstance(e, kinds)]
    if not events:
        raise AggregateNotFoundError(lead_id)
    positions = event_positions(app, lead_id)
    fields: dict[str, Any] = {}
    history = []
    for event in events:
        history.append(_explained(event, positions[event.originator_version], fields))
        fields = {**fields, **event.applied}
    return history


def explain_position(
    app: Application[UUID], position: int
) -> DecisionExplained | ConfigurationExplained | None:
    """What is recorded at log ``position``: a decision about a payload, or a change of a
    workspace's configuration (its creation, a field added, a new identifier or default
    country).

    None where the position holds nothing of the sort: no event (past the end of the
    log, or 0), an event of a workspace's ``DecisionSequence`` (its start, recorded
    with the workspace, or a step, the marker recorded after each batch of decisions and
    each configuration change to order them: they decide and change nothing), or of its
    ``WorkspaceTokens`` (API tokens decide nothing either).  Raises
    :class:`PositionError` unless ``position`` is 0 to :data:`MAX_POSITION`.
    """
    event = _event_at(app, position)
    if isinstance(event, WORKSPACE_EVENTS):
        return explain_configuration(app, event, position)
    if not isinstance(event, DECISION_EVENTS):
        return None
    return _decision_explained(app, event, position)


def explain_decision(
    app: Application[UUID], position: int, workspace: UUID
) -> DecisionExplained | None:
    """The decision about a payload of the workspace with id ``workspace`` recorded at
    log ``position`` (None if there is none: anything else, or another workspace's).
    Raises :class:`PositionError` unless ``position`` is 0 to :data:`MAX_POSITION`."""
    event = _event_at(app, position)
    if not isinstance(event, DECISION_EVENTS) or event.workspace_id != workspace:
        return None
    return _decision_explained(app, event, position)


def _event_at(app: Application[UUID], position: int) -> Any:
    """The event at log ``position`` (None: there is none)."""
    check_position(position)
    found = app.recorder.select_notifications(start=position, limit=1)
    notification = found[0] if found else None
    if notification is None or notification.id != position:
        return None
    return app.mapper.to_domain_event(notification)


def _decision_explained(app: Application[UUID], event: Any, position: int) -> DecisionExplained:
    fields: dict[str, Any] = {}
    if not isinstance(event, DroppedPayload.PayloadDropped):
        before = event.originator_version - 1
        if before:
            lead: Lead = app.repository.get(event.originator_id, version=before)
            fields = dict(lead.fields)
    return _explained(event, position, fields)


def _explained(event: Any, position: int, fields: dict[str, Any]) -> DecisionExplained:
    outcome, lead, key, reason, applied, rejected, ignored = _recorded(event)
    return DecisionExplained(
        position=position,
        outcome=outcome,
        lead_id=lead,
        identifier=event.identifier,
        generation=event.generation,
        raw_identifier=_raw_identifier(event.payload, event.identifier),
        key=key,
        reason=reason,
        message=getattr(event, "message", None),
        changes={f: (fields.get(f), v) for f, v in applied.items() if fields.get(f) != v},
        unchanged=tuple(f for f, v in applied.items() if f in fields and fields[f] == v),
        rejected=rejected,
        ignored=dict(ignored),
        source=event.source,
        recorded_at=event.timestamp.isoformat(),
    )


def _raw_identifier(payload: str, identifier: str | None) -> Any:
    try:
        fields = json.loads(payload).get("fields")
        return fields.get(identifier) if isinstance(fields, dict) and identifier else None
    except (ValueError, RecursionError, AttributeError):
        return None


def positions_of_line(
    app: Application[UUID], workspace: str, line: int, file: str | None = None
) -> list[int]:
    """Log positions of the decisions recorded for input line ``line`` (of ``file``)."""
    wanted = workspace_id(workspace)
    found = []
    for event, position in read_log(app):
        if isinstance(event, DECISION_EVENTS) and event.workspace_id == wanted:
            source = event.source or {}
            if source.get("line") == line and (file is None or source.get("file") == file):
                found.append(position)
    return found


#: The last log position there can be: notification ids are 64-bit signed integers in
#: the stores (SQLite's rowid, PostgreSQL's bigserial).
MAX_POSITION = 2**63 - 1


class PositionError(InvalidArgument):
    """A log position that is not an integer from 0 to :data:`MAX_POSITION`."""


def check_position(position: int) -> int:
    """Return ``position`` if it can be a log position, else raise :class:`PositionError`."""
    if isinstance(position, bool) or not isinstance(position, int):
        raise PositionError(f"a log position is an integer, not {type(position).__name__}")
    if not 0 <= position <= MAX_POSITION:
        raise PositionError(
            f"position {position} is out of range: log positions are 0 to {MAX_POSITION}"
        )
    return position
