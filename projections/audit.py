"""Audit: replay a workspace's log and re-derive every recorded decision.

The replay reads the log in order with a fresh identifier index, and for every
recorded decision decides its recorded raw payload again under the configuration and
index in force just before it.  Any difference from what was recorded is a
divergence; one recorded under other normalizer versions is reported as such (the
metadata of phonenumbers changes between releases), not as corruption.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import Tracking

from leadkey.domain.decisions import Decision, decide
from leadkey.domain.lead import DECISION_EVENTS, DroppedPayload, Lead
from leadkey.domain.normalization import NORMALIZER_VERSIONS
from leadkey.domain.workspace import workspace_id

from .identifier_index import IdentifierIndexProjection, IndexView, read_log

_COMPARED = ("outcome", "lead_id", "key", "reason", "applied", "rejected", "ignored")


@dataclass(frozen=True, slots=True)
class Divergence:
    """A recorded decision that the log and its payload no longer re-derive."""

    position: int
    differences: dict[str, tuple[Any, Any]]  # name -> (recorded, replayed)
    normalizer_changed: bool
    recorded_normalizer: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "differences": {
                name: {"recorded": _plain(old), "replayed": _plain(new)}
                for name, (old, new) in self.differences.items()
            },
            "cause": (
                f"normalizer versions differ (recorded: {self.recorded_normalizer}; "
                f"now: {NORMALIZER_VERSIONS})"
                if self.normalizer_changed
                else "the log does not re-derive this decision"
            ),
        }


@dataclass(frozen=True, slots=True)
class ReplayReport:
    """What replaying a workspace's log up to ``position`` found."""

    workspace: str
    position: int
    decisions: dict[str, int]
    divergences: tuple[Divergence, ...]

    @property
    def verified(self) -> bool:
        return not self.divergences

    def as_dict(self) -> dict[str, Any]:
        return {
            "workspace": self.workspace,
            "position": self.position,
            "decisions": self.decisions,
            "verified": self.verified,
            "divergences": [d.as_dict() for d in self.divergences],
        }


#: How many events replay reads between two calls of its ``progress`` callback.
PROGRESS_EVERY = 100


def replay(
    app: Application,
    workspace: str,
    *,
    until: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> ReplayReport:
    """Re-decide every recorded decision of ``workspace`` up to log position ``until``.

    ``progress``, if given, is called with the log position reached every
    :data:`PROGRESS_EVERY` events (a worker normalizing ahead follows it).
    """
    wanted = workspace_id(workspace)
    projection = IdentifierIndexProjection(IndexView())
    counts: Counter[str] = Counter()
    divergences = []
    position = 0
    for seen, (event, position) in enumerate(read_log(app, stop=until)):
        if progress is not None and not seen % PROGRESS_EVERY:
            progress(position)
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
                divergences.append(
                    Divergence(
                        position,
                        differences,
                        event.normalizer != NORMALIZER_VERSIONS,
                        event.normalizer,
                    )
                )
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
    return (
        str(value)
        if value is not None and not isinstance(value, str | int | dict | list)
        else value
    )


@dataclass(frozen=True, slots=True)
class DecisionExplained:
    """One recorded decision, in an auditor's terms."""

    position: int | None
    outcome: str
    lead_id: Any
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


def explain_lead(app: Application, lead_id: Any) -> list[DecisionExplained]:
    """Every decision that created or updated the lead, with old -> new field values.

    Raises ``eventsourcing.application.AggregateNotFoundError`` for an unknown lead.
    """
    fields: dict[str, Any] = {}
    history = []
    for event in app.events.get(lead_id):
        history.append(_explained(event, None, fields))
        fields = {**fields, **event.applied}
    if not history:
        raise AggregateNotFoundError(lead_id)
    return history


def explain_position(app: Application, position: int) -> DecisionExplained | None:
    """The decision recorded at log ``position`` (None if no decision is there)."""
    [notification] = app.recorder.select_notifications(start=position, limit=1) or [None]
    if notification is None or notification.id != position:
        return None
    event = app.mapper.to_domain_event(notification)
    if not isinstance(event, DECISION_EVENTS):
        return None
    fields: dict[str, Any] = {}
    if not isinstance(event, DroppedPayload.PayloadDropped):
        before = event.originator_version - 1
        if before:
            fields = dict(app.repository.get(event.originator_id, version=before).fields)
    return _explained(event, position, fields)


def _explained(event: Any, position: int | None, fields: dict[str, Any]) -> DecisionExplained:
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
    app: Application, workspace: str, line: int, file: str | None = None
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
