"""The application service: leadkey's Python API over an ``eventsourcing`` store."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from threading import RLock
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, PersistenceError

from leadkey.domain.decisions import (
    Decision,
    MatchConfig,
    Outcome,
    Prepared,
    conclude,
    has_unpaired_surrogate,
    identifier_key,
    prepare,
)
from leadkey.domain.lead import DroppedPayload, Lead
from leadkey.domain.normalization import UnusableValue
from leadkey.domain.payload import NOT_TEXT, dumps, record_text, too_large
from leadkey.domain.sequence import DecisionSequence
from leadkey.domain.workspace import (
    ConfigurationError,
    Workspace,
    check_workspace_name,
    workspace_id,
)
from leadkey.projections.audit import check_position
from leadkey.projections.identifier_index import (
    IdentifierIndexProjection,
    RebuildReport,
    WorkspaceIndex,
    index_at,
)

from .durable_index import DurableIndex, IndexBehind, differences, is_indexed
from .indexes import LeadIndex, MemoryIndex, StoredIndex, WorkspaceInfo
from .preparers import Preparers, Wire, from_wire
from .stores import check_postgres, event_positions, store_env

logger = logging.getLogger("leadkey")

#: How many times a batch is re-decided after another writer got in first.
MAX_ATTEMPTS = 200


class UnknownWorkspace(LookupError):
    """No workspace has that name.

    ``invalid`` says why no workspace can have that name (None if one could be
    created with it).
    """

    def __init__(self, name: str, *, invalid: str | None = None) -> None:
        super().__init__(f"unknown workspace {name!r}")
        self.name = name
        self._invalid = invalid

    @property
    def invalid(self) -> str | None:
        """Why no workspace can have this name (None if one could be created with it)."""
        if self._invalid is not None:
            return self._invalid
        try:
            check_workspace_name(self.name)
        except ConfigurationError as error:
            return str(error)
        return None


class WorkspaceNotCreatedYet(UnknownWorkspace):
    """A lookup as of a log ``position`` before the workspace was created (at
    ``created``, a later position)."""

    def __init__(self, name: str, position: int, created: int | None) -> None:
        super().__init__(name)
        since = f" (it was created at position {created})" if created else ""
        self.args = (f"workspace {name!r} did not exist at position {position}{since}",)
        self.position = position
        self.created = created


class UnusableLookup(UnusableValue):
    """A looked-up value that cannot be a key of the identifier in force: ``config`` is
    the configuration that was in force (as of log ``position``, None: now)."""

    def __init__(self, error: UnusableValue, config: MatchConfig, position: int | None) -> None:
        super().__init__(error.reason, empty=getattr(error, "empty", False))
        self.config = config
        self.position = position


class ConcurrencyError(RuntimeError):
    """A batch kept conflicting with other writers and was not recorded."""


@dataclass(frozen=True, slots=True)
class Submission:
    """A payload with where it came from (recorded with its decision).

    ``source`` maps names to strings, numbers, booleans or None, e.g.
    ``{"file": "leads.jsonl", "line": 12}``; anything else raises ``TypeError``.
    """

    payload: Any
    source: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        source = self.source
        if source is None:
            return
        if not isinstance(source, Mapping) or not all(
            isinstance(k, str) and (v is None or isinstance(v, str | int | float | bool))
            for k, v in source.items()
        ):
            raise TypeError("a source maps names to strings, numbers, booleans or None")
        if has_unpaired_surrogate(dict(source)) or any(
            isinstance(v, int) and v.bit_length() > 63 for v in source.values()
        ):
            raise TypeError("a source holds Unicode text and 64-bit integers only")
        if set(source) == {"_type_", "_data_"}:
            raise TypeError("a source cannot use exactly the keys '_type_' and '_data_'")


@dataclass(frozen=True, slots=True)
class LeadView:
    """A lead as seen by a lookup."""

    lead_id: UUID
    key: str
    fields: dict[str, Any]
    version: int

    def as_dict(self) -> dict[str, Any]:
        return {"lead_id": str(self.lead_id), "key": self.key, "fields": self.fields}


@dataclass(frozen=True, slots=True)
class Lookup:
    """What a lookup used and found: the configuration in force (as of log ``position``;
    None: now), the key the value gave under it, and the lead with that key, if any."""

    workspace: str
    position: int | None
    config: MatchConfig
    key: str
    lead: LeadView | None


class Leadkey(Application):
    """Create-or-update matching of lead payloads, event-sourced.

    ``store`` is a URL (``memory:``, ``sqlite:///file.db``, ``postgresql://…``).
    Every decision is recorded before it is returned: a returned (or yielded)
    decision is durable in the store.
    """

    name = "leadkey"

    def __init__(
        self,
        store: str = "memory:",
        env: Mapping[str, str] | None = None,
        *,
        read_only: bool = False,
    ) -> None:
        """``read_only`` opens a SQLite file read-only (for reads: a read-only file or
        folder works, and a missing file is not created); recording then fails.

        On SQLite and PostgreSQL the identifier index is kept in the store with the
        events (see ``durable_index``).  Opening checks it: one that cannot be trusted is
        rebuilt from the log, and why is logged and kept in :attr:`index_repairs`; one
        behind the log catches up.  Read-only, such an index is not repaired: the index
        is then built in memory from the log.
        """
        settings = {**store_env(store, read_only=read_only), **(env or {})}
        if settings["PERSISTENCE_MODULE"] == "eventsourcing.postgres":
            check_postgres(settings)
        super().__init__(env=settings)
        #: What opening found wrong with the stored index (it was rebuilt, or bypassed).
        self.index_repairs: list[str] = []
        #: Batches decided again because another writer recorded in the workspace first.
        self.redecided = 0
        self._lock = RLock()
        self._memory = MemoryIndex(self)
        self.leads: LeadIndex = self._memory
        if is_indexed(self.recorder):
            self._open_stored_index(read_only)

    def _open_stored_index(self, read_only: bool) -> None:
        durable = DurableIndex(self)
        try:
            problem = durable.problem()
        except PersistenceError as error:  # read-only, on a store of an earlier leadkey
            problem = f"cannot be read ({error})"
        if read_only:
            tracked, last = durable.positions()
            if problem is None and tracked == last:
                self.leads = StoredIndex(durable)
            else:
                why = problem or "is behind the log"
                self.index_repairs.append(f"the stored index {why}: read from the log instead")
            return
        if problem is not None:
            note = f"the stored index {problem}: rebuilt from the log"
            logger.warning("%s", note)
            self.index_repairs.append(note)
            durable.rebuild()
        else:
            durable.catch_up()
        self.leads = StoredIndex(durable)

    @property
    def index(self) -> IdentifierIndexProjection:
        """The identifier index built in this process's memory (caught up on use)."""
        return self._memory.projection

    # -- workspaces ---------------------------------------------------------------

    def create_workspace(
        self,
        name: str,
        *,
        country: str = "IN",
        identifier: str = "phone",
        timezone: str = "UTC",
        fields: Mapping[str, str] | None = None,
    ) -> WorkspaceInfo:
        """Create a workspace; raise ``ConfigurationError`` if it is invalid or exists."""
        workspace = Workspace.create(
            name,
            country=country,
            identifier=identifier,
            timezone=timezone,
            fields=dict(fields or {}),
        )
        started = DecisionSequence(workspace_id=workspace.id)
        events = [*workspace.collect_events(), *started.collect_events()]
        for _ in range(MAX_ATTEMPTS):
            try:
                self.leads.put(events)
                break
            except IndexBehind:  # caught up: these events do not depend on the index
                continue
            except IntegrityError:
                raise ConfigurationError(f"workspace {name!r} already exists") from None
        return self.workspace_info(name)

    def workspace_info(self, name: str) -> WorkspaceInfo:
        """The workspace's configuration and counts of leads; raise ``UnknownWorkspace``.
        Its cost does not grow with the log (on SQLite and PostgreSQL)."""
        return self.leads.info(self._state(name))

    def workspace(self, name: str) -> WorkspaceIndex:
        """The workspace's whole index (every lead's version and keys, read into memory);
        raise ``UnknownWorkspace``."""
        return self.leads.load(self._state(name))

    def check_workspace(self, name: str) -> None:
        """Raise ``UnknownWorkspace`` unless ``name`` exists (reads no index: cheap)."""
        _check_name(name)
        if workspace_id(name) not in self.repository:
            raise UnknownWorkspace(name)

    def add_field(self, workspace: str, api_name: str, field_type: str) -> None:
        """Define a new lead field in ``workspace``."""
        self._command(workspace, lambda ws: ws.add_field(api_name, field_type))

    def change_identifier(
        self, workspace: str, field: str, *, dry_run: bool = False
    ) -> RebuildReport:
        """Make ``field`` the lead identifier and return the index rebuild report.

        With ``dry_run`` nothing is recorded: the report says what the switch would do.
        """
        return self._reconfigure(workspace, lambda ws: ws.change_identifier(field), dry_run)

    def change_country(
        self, workspace: str, country: str, *, dry_run: bool = False
    ) -> RebuildReport:
        """Change the default country that completes phone numbers."""
        return self._reconfigure(workspace, lambda ws: ws.change_country(country), dry_run)

    def _reconfigure(self, workspace: str, command: Any, dry_run: bool) -> RebuildReport:
        if dry_run:
            state = self._state(workspace)
            aggregate = self._load(workspace)
            command(aggregate)
        else:
            self._command(workspace, command)
            state = self._state(workspace)
            aggregate = state.config
        return self.leads.plan(state, aggregate.identifier, aggregate.generation)

    def _command(self, workspace: str, command: Any) -> None:
        _check_name(workspace)
        with self.leads.turn(workspace_id(workspace)):
            for attempt in range(MAX_ATTEMPTS):
                sequence = self._state(workspace).sequence
                aggregate = self._load(workspace)
                command(aggregate)
                step = DecisionSequence.step(aggregate.id, sequence, "configuration")
                try:
                    self.leads.put([*aggregate.collect_events(), step])
                    return
                except (IntegrityError, IndexBehind):
                    self.leads.catch_up()
                    _pause(attempt)
        raise ConcurrencyError(f"workspace {workspace!r} kept changing under this command")

    def _load(self, workspace: str) -> Workspace:
        try:
            return self.repository.get(workspace_id(workspace))
        except AggregateNotFoundError:
            raise UnknownWorkspace(workspace) from None

    def _state(self, name: str) -> Any:
        _check_name(name)
        state = self.leads.state(name)
        if state is None:
            raise UnknownWorkspace(name)
        return state

    # -- ingest -------------------------------------------------------------------

    def ingest(
        self, workspace: str, payload: Any, *, source: Mapping[str, Any] | None = None
    ) -> Decision:
        """Decide and record one payload (an Async API body, as JSON text or object)."""
        return next(self.ingest_many(workspace, [Submission(payload, source)]))

    def ingest_many(
        self,
        workspace: str,
        payloads: Iterable[Any],
        *,
        batch_size: int = 1000,
        workers: int = 0,
    ) -> Iterator[Decision]:
        """Decide and record payloads in order, committing ``batch_size`` at a time.

        Items are payloads or :class:`Submission`\\ s.  Decisions are yielded only
        once their batch is committed, so every yielded decision is durable.

        With ``workers`` > 0, that many processes parse and normalize the next batches
        (:func:`prepare`, a pure function) while this one matches and records; the
        decisions are the same as without them.
        """
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, not {batch_size!r}")
        _check_name(workspace)
        items = iter(payloads)
        batches = iter(lambda: _batch(items, batch_size), None)
        if workers <= 0:
            for submissions, texts in batches:
                yield from self._ingest_batch(workspace, submissions, texts, None)
            return
        with Preparers(workers) as preparers:
            ahead = preparers.pipeline(batches, lambda: self._config(workspace))
            for submissions, texts, prepared in ahead:
                yield from self._ingest_batch(workspace, submissions, texts, prepared)

    def _config(self, workspace: str) -> MatchConfig | None:
        state = self.leads.state(workspace)
        return state.config if state else None

    def _ingest_batch(
        self,
        workspace: str,
        submissions: Sequence[Submission],
        texts: Sequence[str],
        prepared: Wire | None,
    ) -> list[Decision]:
        ready: tuple[MatchConfig | None, list[Prepared]] | None = None
        with self._lock, self.leads.turn(workspace_id(workspace)):
            for attempt in range(MAX_ATTEMPTS):
                state = self.leads.state(workspace)
                config = state.config if state else None
                if ready is None or ready[0] != config:
                    ready = config, _ready(config, texts, prepared)
                index = None
                if state is not None:
                    index = self.leads.matches(state, [p.key for p in ready[1] if p.key])
                decisions, events = self._conclude(workspace, index, submissions, ready[1])
                try:
                    self.leads.put(events)
                except (IntegrityError, IndexBehind):  # another writer got in first
                    self.redecided += 1
                    self.leads.catch_up()  # (the index too, if that writer did not keep it)
                    _pause(attempt)
                    continue
                return decisions
        raise ConcurrencyError("a batch kept conflicting with other writers")

    def _conclude(
        self,
        workspace: str,
        index: Any,
        submissions: Sequence[Submission],
        ready: Sequence[Prepared],
    ) -> tuple[list[Decision], list[Any]]:
        """Match prepared payloads against the index (``config``, ``sequence``,
        ``lookup(key)`` and ``versions`` of the leads found, or None: no workspace) and
        earlier payloads of the batch, and build their events, plus the batch's step of
        the decision sequence."""
        config = index.config if index else None
        created: dict[str, UUID] = {}
        versions: dict[UUID, int] = {}

        def lookup(key: str) -> UUID | None:
            found = created.get(key)
            if found is None and index is not None:
                found = index.lookup(key)
            return found

        decisions: list[Decision] = []
        events: list[Any] = []
        for submission, item in zip(submissions, ready, strict=True):
            decision = conclude(item, lookup)
            record = decision.record(submission.source)
            if decision.outcome is Outcome.CREATED:
                assert config is not None and decision.key and decision.lead_id
                event = Lead.created(decision.lead_id, config.workspace_id, **record)
                created[decision.key] = event.originator_id
                versions[event.originator_id] = 1
            elif decision.outcome is Outcome.UPDATED:
                assert index is not None and decision.lead_id is not None
                lead_id = decision.lead_id
                version = versions.get(lead_id) or index.versions[lead_id]
                event = Lead.fields_updated(
                    lead_id, version, workspace_id=index.config.workspace_id, **record
                )
                versions[lead_id] = version + 1
            else:
                event = DroppedPayload.dropped(
                    workspace_id=config.workspace_id if config else workspace_id(workspace),
                    workspace=workspace,
                    reason=str(decision.reason),
                    message=decision.message or "",
                    **record,
                )
            events.append(event)
            decisions.append(decision)
        if index is not None:
            workspace_uuid = index.config.workspace_id
            events.append(
                DecisionSequence.step(workspace_uuid, index.sequence, "decisions", len(decisions))
            )
        return decisions, events

    # -- reads --------------------------------------------------------------------

    def lookup(self, workspace: str, value: Any, *, at: int | None = None) -> LeadView | None:
        """The lead whose identifier matches ``value`` (any spelling), or None: the
        ``lead`` of :meth:`find`, which says what it raises."""
        return self.find(workspace, value, at=at).lead

    def find(self, workspace: str, value: Any, *, at: int | None = None) -> Lookup:
        """Look ``value`` up (any spelling): the configuration used, the key, the lead.

        With ``at``, as of that log position: the identifier then in force, the index
        rebuilt from the log up to it, and the lead's fields as they were.  Raises
        ``UnknownWorkspace`` (``WorkspaceNotCreatedYet`` when the workspace was created
        after ``at``), ``PositionError`` (a ``ValueError``) unless ``at`` is 0 to
        ``MAX_POSITION`` (2**63 - 1), or ``UnusableLookup`` (an ``UnusableValue``) when
        ``value`` cannot be a key of the identifier in force.
        """
        if at is not None:
            check_position(at)
        _check_name(workspace)
        if at is None:
            state = self._state(workspace)
        else:
            state = index_at(self, at).view.workspace(workspace)
            if state is None:
                self.check_workspace(workspace)  # never created: UnknownWorkspace
                created = self.event_positions(workspace_id(workspace)).get(1)
                raise WorkspaceNotCreatedYet(workspace, at, created)
        config = state.config
        try:
            key = identifier_key(config.identifier_type, value, config.country)
        except UnusableValue as error:
            raise UnusableLookup(error, config, at) from error
        index = state if at is not None else self.leads.matches(state, [key])
        found = index.lookup(key)
        lead = None
        if found is not None:
            version = index.versions[found] if at is not None else None
            aggregate = self.repository.get(found, version=version)
            lead = LeadView(
                lead_id=found, key=key, fields=dict(aggregate.fields), version=aggregate.version
            )
        return Lookup(workspace, at, config, key, lead)

    def stored_index_status(self) -> dict[str, Any] | None:
        """The stored index's position, the log's last position, and why the index
        cannot be trusted (``problem``, None if it can); None without a stored index."""
        if not is_indexed(self.recorder):
            return None
        durable = DurableIndex(self)
        try:
            position, log = durable.positions()
            problem = durable.problem()
        except PersistenceError:  # a store of an earlier leadkey, opened read-only
            log = self.recorder.max_notification_id() or 0
            position, problem = 0, "has no tables yet (the next writing command builds them)"
        return {"position": position, "log": log, "problem": problem}

    def rebuild_stored_index(self) -> int | None:
        """Build the stored index again from the whole log; its position (None: this
        store keeps none)."""
        if not is_indexed(self.recorder):
            return None
        durable = DurableIndex(self)
        position = durable.rebuild()
        self.leads = StoredIndex(durable)
        return position

    def stored_index_differences(self, workspace: str) -> tuple[int, list[str]] | None:
        """Compare the workspace's stored index with one rebuilt from the log at the
        stored position: that position and the differences (none: equal).  None when
        this process does not read a stored index (``memory:``, or one it bypassed)."""
        if not isinstance(self.leads, StoredIndex):
            return None
        position, stored, counts = self.leads.durable.snapshot(workspace)
        rebuilt = index_at(self, position).view.workspace(workspace)
        return position, differences(stored, counts, rebuilt)

    def event_positions(self, aggregate_id: UUID) -> dict[int, int]:
        """The log position of each of an aggregate's events, by version."""
        return event_positions(self, aggregate_id)

    def lead(self, lead_id: UUID) -> Lead:
        """The lead with that id (raises ``AggregateNotFoundError``)."""
        return self.repository.get(lead_id)


def _ready(
    config: MatchConfig | None, texts: Sequence[str], prepared: Wire | None
) -> list[Prepared]:
    """The batch's payloads prepared under ``config``: from the workers if they used it."""
    if prepared is not None and prepared[0] == config:
        return [
            from_wire(config, text, item) for text, item in zip(texts, prepared[1], strict=True)
        ]
    return [prepare(config, text) for text in texts]


def _pause(attempt: int) -> None:
    """Back off before retrying after a conflict (random, growing up to 0.1 s)."""
    time.sleep(random.uniform(0, min(0.1, 0.001 * 2**attempt)))


def _check_name(workspace: object) -> None:
    if not isinstance(workspace, str):
        raise TypeError(f"a workspace name is a string, not {type(workspace).__name__}")
    if has_unpaired_surrogate(workspace):
        raise UnknownWorkspace(
            workspace.encode("utf-8", "backslashreplace").decode(),
            invalid="a workspace name must be printable Unicode text",
        )


def _batch(items: Iterator[Any], size: int) -> tuple[list[Submission], list[str]] | None:
    submissions = [s if isinstance(s, Submission) else Submission(s) for s in islice(items, size)]
    return (submissions, [_payload_text(s.payload) for s in submissions]) if submissions else None


def _payload_text(payload: Any) -> str:
    """The text recorded for a payload: JSON text as given, or JSON of an object.

    Text that is not valid Unicode (bytes that are not UTF-8, unpaired surrogates) is
    recorded behind the :data:`NOT_TEXT` mark, with backslash escapes, and dropped; text
    past the size limit is recorded abbreviated (see ``payload.record_text``).
    """
    return record_text(_full_text(payload))


def _full_text(payload: Any) -> str:
    if isinstance(payload, bytes | bytearray):
        data = bytes(payload)
        try:
            payload = data.decode("utf-8")
        except UnicodeDecodeError:  # too large, or escaped: its size is that of its bytes
            return too_large(data) or NOT_TEXT + data.decode("utf-8", errors="backslashreplace")
    if not isinstance(payload, str):
        try:
            text = dumps(payload)
        except (TypeError, ValueError) as error:
            return f"<not JSON: {type(error).__name__}: {error}: a {type(payload).__name__}>"
        return dumps(payload, ensure_ascii=True) if has_unpaired_surrogate(text) else text
    if has_unpaired_surrogate(payload):
        escaped = payload.encode("utf-8", errors="backslashreplace").decode("utf-8")
        return too_large(payload.encode("utf-8", errors="surrogatepass")) or NOT_TEXT + escaped
    return payload
