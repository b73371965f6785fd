"""Audit: replay a workspace's log and re-derive every recorded decision.

The replay reads the log in order with a fresh identifier index, and for every
recorded decision decides its recorded raw payload again under the configuration and
index in force just before it.  Any difference from what was recorded is a
divergence; one recorded under other normalizer versions is reported as such (the
metadata of phonenumbers changes between releases), not as corruption.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import Tracking

from leadkey.domain.decisions import Decision, decide
from leadkey.domain.lead import DroppedPayload, Lead
from leadkey.domain.normalization import NORMALIZER_VERSIONS
from leadkey.domain.workspace import workspace_id

from .identifier_index import IdentifierIndexProjection, IndexView, read_log

_DECISIONS = (Lead.LeadCreated, Lead.LeadFieldsUpdated, DroppedPayload.PayloadDropped)
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


def replay(app: Application, workspace: str, *, until: int | None = None) -> ReplayReport:
    """Re-decide every recorded decision of ``workspace`` up to log position ``until``."""
    wanted = workspace_id(workspace)
    projection = IdentifierIndexProjection(IndexView())
    counts: Counter[str] = Counter()
    divergences = []
    position = 0
    for event, position in read_log(app, stop=until):
        if isinstance(event, _DECISIONS) and event.workspace_id == wanted:
            index = projection.view.workspaces.get(wanted)
            config = index.config if index else None
            lookup = index.lookup if index else _nothing
            replayed = decide(config, event.payload, lookup)
            recorded = _recorded(event)
            counts[recorded["outcome"]] += 1
            differences = {
                name: (recorded[name], value)
                for name, value in _comparable(replayed).items()
                if recorded[name] != value
            }
            if differences:
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


def _recorded(event: Any) -> dict[str, Any]:
    if isinstance(event, DroppedPayload.PayloadDropped):
        return {
            "outcome": "dropped",
            "lead_id": None,
            "key": None,
            "reason": event.reason,
            "applied": {},
            "rejected": {},
            "ignored": [],
        }
    return {
        "outcome": "created" if isinstance(event, Lead.LeadCreated) else "updated",
        "lead_id": event.originator_id,
        "key": event.key,
        "reason": None,
        "applied": event.applied,
        "rejected": event.rejected,
        "ignored": [list(pair) for pair in event.ignored],
    }


def _comparable(decision: Decision) -> dict[str, Any]:
    return {
        "outcome": str(decision.outcome),
        "lead_id": decision.lead_id,
        "key": decision.key,
        "reason": str(decision.reason) if decision.reason else None,
        "applied": decision.applied,
        "rejected": decision.rejected,
        "ignored": [list(pair) for pair in decision.ignored.items()],
    }


def _plain(value: Any) -> Any:
    return (
        str(value)
        if value is not None and not isinstance(value, str | int | dict | list)
        else value
    )

