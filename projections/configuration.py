"""Configuration history: each change of a workspace's configuration, in an auditor's terms.

A workspace's configuration is its ``Workspace`` aggregate: created, then changed by
adding fields, changing the lead identifier and changing the default country.  Each of
those events is explained from the workspace's own events (never the whole log): what
it changed, as plain before/after values, and the configuration in force after it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from leadkey.domain.errors import UnknownWorkspace
from leadkey.domain.workspace import Workspace, workspace_id

from .positions import event_positions

#: What each kind of workspace event is called in an explanation.
KINDS: dict[type, str] = {
    Workspace.WorkspaceCreated: "created",
    Workspace.IdentifierChanged: "identifier changed",
    Workspace.DefaultCountryChanged: "country changed",
    Workspace.FieldAdded: "field added",
}

#: The prefix of a field's setting in :attr:`ConfigurationExplained.changes`
#: (``field:customer_id``): a field's API name cannot contain ``:``.
FIELD = "field:"


@dataclass(frozen=True, slots=True)
class ConfigurationExplained:
    """One change of a workspace's configuration, with the configuration after it.

    ``changes`` maps each setting the event changed to its ``(before, after)`` values:
    ``identifier``, ``country``, ``timezone``, ``generation`` and ``field:NAME`` (the
    field's type; None before it existed).  A creation changes every setting from None.
    """

    position: int
    recorded_at: str
    workspace: str
    kind: str  # created | identifier changed | country changed | field added
    changes: dict[str, tuple[Any, Any]]  # setting -> (before, after)
    identifier: str
    identifier_type: str
    country: str
    generation: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "recorded_at": self.recorded_at,
            "workspace": self.workspace,
            "kind": self.kind,
            "changes": {
                setting: {"before": before, "after": after}
                for setting, (before, after) in self.changes.items()
            },
            "configuration": {
                "identifier": self.identifier,
                "identifier_type": self.identifier_type,
                "country": self.country,
                "generation": self.generation,
            },
        }

    def why(self) -> str:
        """The change in one sentence."""
        workspace = f"workspace {self.workspace!r}"
        identifier = f"{self.identifier!r} ({self.identifier_type})"
        if self.kind == "created":
            return (
                f"{workspace} created with lead identifier {identifier} and default "
                f"country {self.country}, generation {self.generation}"
            )
        if self.kind == "field added":
            [(setting, (_, field_type))] = self.changes.items()
            return f"{workspace}: field {setting.removeprefix(FIELD)!r} added, of type {field_type}"
        if self.kind == "identifier changed":
            before = self.changes["identifier"][0]
            return (
                f"{workspace}: lead identifier changed from {before!r} to {identifier}, "
                f"starting generation {self.generation}: later payloads are matched by it"
            )
        before = self.changes["country"][0]
        return (
            f"{workspace}: default country changed from {before} to {self.country}, "
            f"starting generation {self.generation}: later phone numbers without a country "
            f"code are read in {self.country}"
        )


def configuration_history(app: Application[UUID], workspace: str) -> list[ConfigurationExplained]:
    """Every change of ``workspace``'s configuration, its creation first, in log order.

    Reads the workspace's own events and their log positions, not the log.  Raises
    ``UnknownWorkspace`` for a workspace that is not in the log.
    """
    events = list(app.events.get(workspace_id(workspace)))
    if not events:
        raise UnknownWorkspace(workspace)
    positions = event_positions(app, events[0].originator_id)
    return [
        _explained(event, positions[event.originator_version], before, after)
        for event, before, after in _steps(events)
    ]


def explain_configuration(
    app: Application[UUID], event: Any, position: int
) -> ConfigurationExplained:
    """The workspace event ``event``, recorded at log ``position``, explained (reads the
    workspace's events up to it)."""
    events = app.events.get(event.originator_id, lte=event.originator_version)
    *_, (last, before, after) = _steps(events)
    return _explained(last, position, before, after)


def _steps(events: Iterable[Any]) -> Iterator[tuple[Any, dict[str, Any], Workspace]]:
    """Each workspace event with the settings before it and the workspace after it."""
    workspace: Any = None
    before: dict[str, Any] = {}
    for event in events:
        workspace = event.mutate(workspace)
        yield event, before, workspace
        before = _settings(workspace)


def _settings(workspace: Workspace) -> dict[str, Any]:
    """A workspace's configuration, setting by setting (see ``ConfigurationExplained``)."""
    return {
        "identifier": workspace.identifier,
        "country": workspace.country,
        "timezone": workspace.timezone,
        "generation": workspace.generation,
        **{FIELD + name: field_type for name, field_type in workspace.fields.items()},
    }


def _explained(
    event: Any, position: int, before: dict[str, Any], workspace: Workspace
) -> ConfigurationExplained:
    after = _settings(workspace)
    return ConfigurationExplained(
        position=position,
        recorded_at=event.timestamp.isoformat(),
        workspace=workspace.name,
        kind=KINDS[type(event)],
        changes={
            setting: (before.get(setting), value)
            for setting, value in after.items()
            if before.get(setting) != value
        },
        identifier=workspace.identifier,
        identifier_type=workspace.fields[workspace.identifier],
        country=workspace.country,
        generation=workspace.generation,
    )
