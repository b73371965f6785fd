"""What-if: replay a workspace's recorded payloads under another configuration.

Two worlds are compared in one read of the log, and nothing is written:

- the *actual* world is what the log recorded: its decisions, and the leads its
  identifier index reaches;
- the *hypothetical* world follows the log until a :class:`Switch` takes effect, and
  from then on decides every recorded raw payload again under the switched settings,
  with its own index, generations and lead ids (derived exactly as the store would).

A switch fixes the settings it names (identifier field, default country) from its
position on; later changes of those settings in the log are not applied in the
hypothetical world, while the settings it does not name (and new fields) still
follow the log.  A list of switches equal to the changes that happened gives back
the actual world: no difference.

The report compares the two per payload (a decision that would change outcome, or
would update another lead) and per lead: actual leads that would merge into one,
that would split over several, that would become unreachable (nothing can match
them any more), or that would not exist at all (every payload of theirs dropped).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Tracking

from leadkey.domain.decisions import (
    DropReason,
    MatchConfig,
    Outcome,
    conclude,
    matched_lead,
    prepare,
)
from leadkey.domain.errors import InvalidArgument, InvalidConfiguration
from leadkey.domain.field_types import IDENTIFIER_TYPES, FieldType
from leadkey.domain.lead import DECISION_EVENTS, DroppedPayload, Lead
from leadkey.domain.normalization import NORMALIZER_VERSIONS
from leadkey.domain.workspace import Workspace, check_country, workspace_id

from .identifier_index import (
    IdentifierIndexProjection,
    IndexView,
    RebuildReport,
    WorkspaceIndex,
    index_at,
    read_log,
)

_OUTCOMES: dict[type, Outcome] = {
    Lead.LeadCreated: Outcome.CREATED,
    Lead.LeadFieldsUpdated: Outcome.UPDATED,
    DroppedPayload.PayloadDropped: Outcome.DROPPED,
}
_CONFIGURATION = (
    Workspace.FieldAdded,
    Workspace.IdentifierChanged,
    Workspace.DefaultCountryChanged,
)
_SETTINGS: dict[type, str] = {
    Workspace.IdentifierChanged: "identifier",
    Workspace.DefaultCountryChanged: "country",
}


class WhatIfError(InvalidArgument):
    """A what-if that cannot be run (unknown workspace, field or country)."""


@dataclass(frozen=True, slots=True)
class Switch:
    """Settings a what-if puts in force just before log position ``position``.

    ``position`` 0 (the default) means from the workspace's creation, as if it had
    been created so.  ``None`` leaves a setting as the log has it: ``Switch()`` decides
    every payload again with the log's settings and today's rules and libraries, which
    shows what an upgrade changes for payloads recorded under older ones.
    """

    identifier: str | None = None
    country: str | None = None
    position: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class PayloadChange:
    """One recorded payload whose decision the what-if changes."""

    position: int
    source: dict[str, Any] | None
    actual: str  # created | updated | dropped
    actual_lead: UUID | None
    hypothetical: str
    hypothetical_lead: UUID | None
    hypothetical_key: str | None
    reason: str | None  # the hypothetical drop reason
    #: The actual lead behind the hypothetical one (the lead its creating payload went to).
    counterpart: UUID | None

    @property
    def kind(self) -> str:
        """``actual->hypothetical`` outcome, e.g. ``created->updated``; ``updated->updated``
        means the payload would update another lead."""
        return f"{self.actual}->{self.hypothetical}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "source": self.source,
            "change": self.kind,
            "actual": {"decision": self.actual, "lead_id": _str(self.actual_lead)},
            "what_if": {
                "decision": self.hypothetical,
                "lead_id": _str(self.hypothetical_lead),
                "key": self.hypothetical_key,
                "reason": self.reason,
                "counterpart": _str(self.counterpart),
            },
        }


@dataclass(frozen=True, slots=True)
class Merge:
    """Several actual leads whose payloads would all go to one lead."""

    lead: UUID
    actual_leads: tuple[UUID, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"lead_id": str(self.lead), "actual_leads": [str(a) for a in self.actual_leads]}


@dataclass(frozen=True, slots=True)
class Split:
    """An actual lead whose payloads would go to several leads (``dropped`` more dropped)."""

    actual_lead: UUID
    leads: tuple[UUID, ...]
    dropped: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "actual_lead": str(self.actual_lead),
            "lead_ids": [str(h) for h in self.leads],
            "payloads_dropped": self.dropped,
        }


@dataclass(frozen=True, slots=True)
class WhatIfReport:
    """The difference between the log and the what-if, up to log ``position`` (the last
    position read).

    Payloads: ``payloads`` counts the workspace's recorded decisions up to ``position``
    (as ``ReplayReport.decisions`` does), each decided again in the what-if.  Of them,
    ``changes`` are those decided otherwise (another outcome, or an update of another
    lead), in log order (:attr:`changed` counts them by kind), and ``keys_changed`` those
    decided alike under the same identifier field with another key (a phone number
    completed with another default country, say): ``len(changes) + keys_changed <=
    payloads``.

    Leads: ``actual_leads`` counts the leads the log created, ``leads`` those of the
    what-if world (until the first switch, the log's own).  Each actual lead is in at
    most one of ``not_created`` (the what-if drops every payload of it) and ``splits``
    (its payloads go to several what-if leads); any other goes to one what-if lead.
    ``merges`` are the what-if leads that get payloads of several actual leads,
    ``new_leads`` those created by a payload the log dropped.
    ``unreachable`` are the actual leads that the log's index reaches at ``position``
    while the what-if's index reaches none of the what-if leads they went to.
    ``rebuilds`` are the what-if's own rebuilds of its index (at a switch, or at a change
    of the log once a switch is in force), in order.
    """

    workspace: str
    switches: tuple[Switch, ...]
    position: int
    payloads: int
    keys_changed: int
    actual_leads: int
    leads: int
    changes: tuple[PayloadChange, ...]
    merges: tuple[Merge, ...]
    splits: tuple[Split, ...]
    unreachable: tuple[UUID, ...]
    not_created: tuple[UUID, ...]
    new_leads: tuple[UUID, ...]
    rebuilds: tuple[RebuildReport, ...] = field(default=())

    @property
    def changed(self) -> dict[str, int]:
        """How many payload decisions change, by ``actual->hypothetical`` outcome."""
        return dict(sorted(Counter(change.kind for change in self.changes).items()))

    @property
    def identical(self) -> bool:
        """Whether the what-if decides every payload as recorded (same outcome, same lead)."""
        return not (self.changes or self.merges or self.splits or self.unreachable)

    def summary(self) -> dict[str, Any]:
        return {
            "payloads": self.payloads,
            "decisions_changed": len(self.changes),
            "keys_changed": self.keys_changed,
            "changed": self.changed,
            "actual_leads": self.actual_leads,
            "what_if_leads": self.leads,
            "merges": len(self.merges),
            "leads_merged": sum(len(m.actual_leads) for m in self.merges),
            "splits": len(self.splits),
            "unreachable": len(self.unreachable),
            "not_created": len(self.not_created),
            "new_leads": len(self.new_leads),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "workspace": self.workspace,
            "switches": [s.as_dict() for s in self.switches],
            "position": self.position,
            "identical": self.identical,
            "summary": self.summary(),
            "rebuilds": [r.as_dict() for r in self.rebuilds],
            "changes": [c.as_dict() for c in self.changes],
            "merges": [m.as_dict() for m in self.merges],
            "splits": [s.as_dict() for s in self.splits],
            "unreachable": [str(a) for a in self.unreachable],
            "not_created": [str(a) for a in self.not_created],
            "new_leads": [str(h) for h in self.new_leads],
        }


def what_if(
    app: Application[UUID],
    workspace: str,
    switches: Switch | Iterable[Switch],
    *,
    until: int | None = None,
) -> WhatIfReport:
    """Replay ``workspace``'s log up to ``until`` with ``switches`` applied; write nothing.

    Raises :class:`WhatIfError` for an unknown workspace, or a switch to a field that
    is not (yet) an identifier-type field of the workspace, or to an unknown country.
    """
    given = [switches] if isinstance(switches, Switch) else switches
    ordered = tuple(sorted(map(_country_checked, given), key=_position))
    pending = list(ordered)
    wanted = workspace_id(workspace)
    world = _World(app.name, pending)
    position = 0
    for event, position in read_log(app, stop=until):
        if _workspace_of(event) != wanted:
            continue
        while pending and pending[0].position <= position and world.index is not None:
            world.switch(pending.pop(0))
        if isinstance(event, DECISION_EVENTS):
            world.decide(event, position)
        elif isinstance(event, Workspace.WorkspaceCreated):
            world.created(event, position)
        elif isinstance(event, _CONFIGURATION):
            world.reconfigure(event)
            if world.started and isinstance(event, Workspace.IdentifierChanged):
                world.actual_rebuilt(index_at(app, position).view.workspaces[wanted])
    if world.index is None:
        raise WhatIfError(f"no workspace {workspace!r} in the log up to position {position}")
    while pending:  # switches after the end of the log: only their rebuild
        world.switch(pending.pop(0))
    return world.report(workspace, ordered, position)


def _country_checked(switch: Switch) -> Switch:
    """``switch`` with its country code checked and in upper case (``us`` is ``US``)."""
    if switch.country is None:
        return switch
    try:
        return replace(switch, country=check_country(switch.country))
    except InvalidConfiguration as error:
        raise WhatIfError(str(error)) from None


def _position(switch: Switch) -> int:
    return switch.position


def _workspace_of(event: Any) -> UUID:
    workspace: UUID = getattr(event, "workspace_id", None) or event.originator_id
    return workspace


class _World:
    """The hypothetical world, and how its payloads map onto the actual leads."""

    def __init__(self, app_name: str, pending: list[Switch]) -> None:
        self.app_name = app_name
        self.pending = pending  # the switches still to come
        self.index: WorkspaceIndex | None = None
        self.created_at = 0
        self.fixed: set[str] = set()  # settings a switch has taken over from the log
        self.started = False  # whether any switch is in force (before: same as the log)
        self.payloads = 0
        self.keys_changed = 0  # same decision, same identifier field, another key
        self.changes: list[PayloadChange] = []
        self.rebuilds: list[RebuildReport] = []
        #: hypothetical lead -> the actual lead of the payload that created it
        self.counterpart: dict[UUID, UUID | None] = {}
        #: actual lead -> hypothetical leads its payloads went to (in order)
        self.targets = _Links()
        #: hypothetical lead -> actual leads whose payloads it got (in order)
        self.sources = _Links()
        self.dropped: Counter[UUID] = Counter()  # actual lead -> payloads dropped in the what-if
        #: The actual world once the first switch has taken the what-if's index away from it:
        #: the leads its index reaches, and how many leads it has.
        self.actual_reachable: set[UUID] = set()
        self.actual_leads = 0

    # -- configuration ---------------------------------------------------------------

    def created(self, event: Workspace.WorkspaceCreated, position: int) -> None:
        self.created_at = position
        projection = IdentifierIndexProjection(IndexView())
        projection.process_event(event, Tracking(self.app_name, position))
        self.index = next(iter(projection.view.workspaces.values()))

    def reconfigure(self, event: Any) -> None:
        assert self.index is not None
        config = self.index.config
        if isinstance(event, Workspace.FieldAdded):
            fields = {**config.fields, event.api_name: FieldType(event.field_type)}
            self.index.reconfigure(replace(config, fields=fields))
            return
        setting = _SETTINGS.get(type(event))
        if setting is None or setting in self.fixed:
            return
        value = event.new_field if setting == "identifier" else event.new_country
        self._adopt(replace(config, **{setting: value}, generation=config.generation + 1))

    def switch(self, switch: Switch) -> None:
        assert self.index is not None
        config = self.index.config
        identifier, country = config.identifier, config.country
        if switch.identifier is not None:
            field_type = config.fields.get(switch.identifier)
            if field_type is None or field_type not in IDENTIFIER_TYPES:
                what = f"a {field_type} field" if field_type else "not a field"
                raise WhatIfError(
                    f"{switch.identifier!r} cannot be the lead identifier of "
                    f"{config.name!r} at position {switch.position}: it is {what} there "
                    "(the identifier must be a phone, email or text field)"
                )
            self.fixed.add("identifier")
            identifier = switch.identifier
        if switch.country is not None:
            country = switch.country
            self.fixed.add("country")
        if not self.started:
            self.actual_rebuilt(self.index)
            self.started = True
        if identifier == config.identifier and country == config.country:
            return
        switched = replace(config, identifier=identifier, country=country)
        if switch.position <= self.created_at:
            self.index.reconfigure(switched)  # as if created so
            return
        self._adopt(replace(switched, generation=config.generation + 1))

    def _adopt(self, config: MatchConfig) -> None:
        assert self.index is not None
        self.index.reconfigure(config)
        if self.started:
            self.rebuilds.append(self.index.report)

    def actual_rebuilt(self, actual: WorkspaceIndex) -> None:
        """Take the actual world's reach from its index (at the first switch, or rebuilt
        from the log after an actual identifier change)."""
        self.actual_reachable = set(actual.index.values())
        self.actual_leads = len(actual.versions)

    # -- decisions -------------------------------------------------------------------

    def decide(self, event: Any, position: int) -> None:
        index = self.index
        self.payloads += 1
        actual = _OUTCOMES[type(event)]
        recorded_lead: UUID | None = None if actual is Outcome.DROPPED else event.originator_id
        if index is None:  # sent before the workspace existed: dropped in every world
            return
        if not self.started:  # the log itself, until the first switch
            if recorded_lead is not None:
                index.lead_recorded(recorded_lead, event.originator_version, event.keys, event.key)
                self._pair(recorded_lead, recorded_lead, actual is Outcome.CREATED)
            return
        # (a created lead is always reachable in the actual world, at first)
        if actual is Outcome.CREATED and recorded_lead is not None:
            self.actual_reachable.add(recorded_lead)
            self.actual_leads += 1
        outcome, lead, key, keys, reason = _redecide(event, index.config, index.lookup)
        counterpart = None
        if lead is not None:
            index.lead_recorded(lead, index.versions.get(lead, 0) + 1, keys, key)
            if recorded_lead is None:
                self.counterpart.setdefault(lead, None)
            else:
                self._pair(recorded_lead, lead, outcome is Outcome.CREATED)
            counterpart = self.counterpart[lead]
        elif recorded_lead is not None:
            self.dropped[recorded_lead] += 1
            self.targets.touch(recorded_lead)
        if outcome is actual and (lead is None or counterpart == recorded_lead):
            if key != getattr(event, "key", None) and event.identifier == index.config.identifier:
                self.keys_changed += 1
            return
        self.changes.append(
            PayloadChange(
                position=position,
                source=event.source,
                actual=str(actual),
                actual_lead=recorded_lead,
                hypothetical=str(outcome),
                hypothetical_lead=lead,
                hypothetical_key=key,
                reason=str(reason) if reason else None,
                counterpart=counterpart,
            )
        )

    def _pair(self, actual: UUID, lead: UUID, created: bool) -> None:
        if created or lead not in self.counterpart:
            self.counterpart[lead] = actual
        self.targets.add(actual, lead)
        self.sources.add(lead, actual)

    # -- the report ------------------------------------------------------------------

    def report(self, workspace: str, switches: tuple[Switch, ...], position: int) -> WhatIfReport:
        index = self.index
        assert index is not None
        if not self.started:
            self.actual_rebuilt(index)
        reachable = set(index.index.values())
        was_reachable = self.actual_reachable
        return WhatIfReport(
            workspace=workspace,
            switches=switches,
            position=position,
            payloads=self.payloads,
            keys_changed=self.keys_changed,
            actual_leads=self.actual_leads,
            leads=len(index.versions),
            changes=tuple(self.changes),
            merges=tuple(Merge(lead, sources) for lead, sources in self.sources.several()),
            splits=tuple(
                Split(lead, targets, self.dropped[lead]) for lead, targets in self.targets.several()
            ),
            unreachable=tuple(
                lead
                for lead in self.targets.first
                if lead in was_reachable
                and (targets := self.targets.of(lead))
                and not any(target in reachable for target in targets)
            ),
            not_created=tuple(lead for lead, first in self.targets.first.items() if first is None),
            new_leads=tuple(lead for lead, actual in self.counterpart.items() if actual is None),
            rebuilds=tuple(self.rebuilds),
        )


class _Links:
    """A relation between leads of the two worlds; cheap when, as mostly, one to one."""

    def __init__(self) -> None:
        #: lead -> the first lead it is linked to (None: seen, linked to none)
        self.first: dict[UUID, UUID | None] = {}
        #: lead -> every lead it is linked to, once there are several
        self.more: dict[UUID, list[UUID]] = {}

    def touch(self, lead: UUID) -> None:
        self.first.setdefault(lead, None)

    def add(self, lead: UUID, other: UUID) -> None:
        first = self.first.get(lead)
        if first is None:
            self.first[lead] = other
        elif first != other:
            more = self.more.get(lead)
            if more is None:
                self.more[lead] = [first, other]
            elif other not in more:
                more.append(other)

    def of(self, lead: UUID) -> tuple[UUID, ...]:
        more = self.more.get(lead)
        if more is not None:
            return tuple(more)
        first = self.first.get(lead)
        return () if first is None else (first,)

    def several(self) -> list[tuple[UUID, tuple[UUID, ...]]]:
        """The leads linked to more than one, with the leads they are linked to."""
        return [(lead, tuple(more)) for lead, more in self.more.items()]


def _redecide(
    event: Any, config: MatchConfig, lookup: Callable[[str], UUID | None]
) -> tuple[Outcome, UUID | None, str | None, dict[str, str | None], DropReason | None]:
    """Decide a recorded payload under ``config``: outcome, lead, key, keys, drop reason."""
    keys = _recorded_keys(event, config)
    if keys is None:
        decision = conclude(prepare(config, event.payload), lookup)
        return decision.outcome, decision.lead_id, decision.key, decision.keys, decision.reason
    key = keys.get(config.identifier)
    if key is None:
        return Outcome.DROPPED, None, None, {}, DropReason.IDENTIFIER_MISSING
    lead, created = matched_lead(config, key, lookup)
    if created:
        return Outcome.CREATED, lead, key, keys, None
    keys = {name: value for name, value in keys.items() if name != config.identifier}
    return Outcome.UPDATED, lead, key, keys, None


def _recorded_keys(event: Any, config: MatchConfig) -> dict[str, str | None] | None:
    """The payload's keys as preparing it again under ``config`` would give them, read
    from its recorded decision; None when that record cannot tell.

    The record tells when it was made under the same default country and normalizer
    versions (``replay --verify`` checks that recorded keys re-derive) and it either
    holds a key for ``config``'s identifier or shows that the payload had no value for
    it (a value that was rejected or has no key is prepared again, for its reason).
    """
    if (
        isinstance(event, DroppedPayload.PayloadDropped)
        or event.country != config.country
        or event.normalizer != NORMALIZER_VERSIONS
    ):
        return None
    keys = {**event.keys, event.identifier: event.key}
    identifier = config.identifier
    if identifier in keys:
        return keys if keys[identifier] is not None else None
    if identifier in event.applied or identifier in event.rejected:
        return None
    return keys


def _str(value: UUID | None) -> str | None:
    return None if value is None else str(value)
