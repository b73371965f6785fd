"""What the Python API takes and returns besides decisions: submissions, leads as looked
up, lookups, and read-only views of a workspace's index."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any
from uuid import UUID

from leadkey.domain.decisions import MatchConfig, has_unpaired_surrogate
from leadkey.domain.errors import InvalidArgument
from leadkey.domain.payload_keys import check_key
from leadkey.projections.identifier_index import RebuildReport, WorkspaceIndex


@dataclass(frozen=True, slots=True)
class Submission:
    """A payload with where it came from (recorded with its decision), and the caller's
    idempotency ``key`` for it, if any (see ``Leadkey.ingest``).

    ``source`` maps names to strings, numbers, booleans or None, e.g.
    ``{"file": "leads.jsonl", "line": 12}``; anything else raises ``InvalidArgument``.
    A key is 1 to 255 printable ASCII characters.
    """

    payload: Any
    source: Mapping[str, Any] | None = None
    key: str | None = None

    def __post_init__(self) -> None:
        if self.key is not None:
            check_key(self.key)
        source = self.source
        if source is None:
            return
        if not isinstance(source, Mapping) or not all(
            isinstance(k, str) and (v is None or isinstance(v, str | int | float | bool))
            for k, v in source.items()
        ):
            raise InvalidArgument("a source maps names to strings, numbers, booleans or None")
        if has_unpaired_surrogate(dict(source)) or any(
            isinstance(v, int) and v.bit_length() > 63 for v in source.values()
        ):
            raise InvalidArgument("a source holds Unicode text and 64-bit integers only")
        if any(isinstance(v, float) and not math.isfinite(v) for v in source.values()):
            raise InvalidArgument("a source holds finite numbers only (NaN is not JSON)")
        if set(source) == {"_type_", "_data_"}:
            raise InvalidArgument("a source cannot use exactly the keys '_type_' and '_data_'")


@dataclass(frozen=True, slots=True)
class LeadView:
    """A lead: its id, its key (the one it was found by, or, read by id or listed, the
    one it was created with), its fields and version (how many decisions shaped it), and
    when it was created (UTC; None where not read, it takes no part in comparing)."""

    lead_id: UUID
    key: str
    fields: dict[str, Any]
    version: int
    created_at: datetime | None = field(default=None, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "lead_id": str(self.lead_id),
            "key": self.key,
            "fields": self.fields,
            "version": self.version,
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }


@dataclass(frozen=True, slots=True)
class Lookup:
    """What a lookup used and found: the configuration in force (as of log ``position``;
    None: now), the key the value gave under it, and the lead with that key, if any."""

    workspace: str
    position: int | None
    config: MatchConfig
    key: str
    lead: LeadView | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "workspace": self.workspace,
            "position": self.position,
            "config": self.config.as_dict(),
            "key": self.key,
            "lead": None if self.lead is None else self.lead.as_dict(),
        }


@dataclass(frozen=True, slots=True)
class WorkspaceInfo:
    """A workspace's configuration, how many leads it has (``leads``) and how many keys
    its index holds under the identifier in force (``indexed``: one per lead reachable
    by it; a lead without a usable identifier, or whose key an earlier lead holds, is
    not reachable)."""

    config: MatchConfig
    leads: int
    indexed: int

    def as_dict(self) -> dict[str, Any]:
        return {**self.config.as_dict(), "leads": self.leads, "indexed": self.indexed}


@dataclass(frozen=True, slots=True)
class WorkspaceView:
    """A copy of one workspace's index, read-only: its configuration, every lead's
    version (in creation order), the index under the identifier in force (key -> lead),
    every lead's key in each field of an identifier type (field -> lead -> key), the
    version of its decision sequence, and the report of indexing by its identifier."""

    config: MatchConfig
    versions: Mapping[UUID, int]
    index: Mapping[str, UUID]
    candidates: Mapping[str, Mapping[UUID, str]]
    sequence: int
    report: RebuildReport

    @classmethod
    def of(cls, workspace: WorkspaceIndex) -> WorkspaceView:
        return cls(
            config=workspace.config,
            versions=MappingProxyType(dict(workspace.versions)),
            index=MappingProxyType(dict(workspace.index)),
            candidates=MappingProxyType(
                {f: MappingProxyType(dict(keys)) for f, keys in workspace.candidates.items()}
            ),
            sequence=workspace.sequence,
            report=workspace.report,
        )

    def lookup(self, key: str) -> UUID | None:
        """The lead with ``key`` under the identifier in force, or None."""
        return self.index.get(key)
