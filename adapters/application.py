"""The application service: leadkey's Python API over an ``eventsourcing`` store."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import replace
from datetime import datetime, timedelta
from itertools import islice
from threading import Lock, RLock
from types import MappingProxyType
from typing import Any, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, LocalNotificationLog
from eventsourcing.persistence import (
    InfrastructureFactoryError,
    IntegrityError,
    Mapper,
    PersistenceError,
)
from eventsourcing.utils import TopicError

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
from leadkey.domain.errors import (
    ConcurrencyError,
    IdentifierImmutable,
    InvalidArgument,
    InvalidConfiguration,
    KeyReused,
    LeadExists,
    LeadkeyError,
    NotAuthorized,
    PayloadRejected,
    SearchNeedsScan,
    UnknownLead,
    UnknownWorkspace,
    UnusableValue,
)
from leadkey.domain.lead import DroppedPayload, Lead
from leadkey.domain.payload import NOT_TEXT, dumps, record_text, too_large
from leadkey.domain.payload_keys import KEY_LIFETIME, check_key
from leadkey.domain.sequence import DecisionSequence
from leadkey.domain.tokens import TokenInfo, WorkspaceTokens, check_kind, token_digest
from leadkey.domain.workspace import Workspace, workspace_id
from leadkey.projections import audit
from leadkey.projections.audit import DecisionExplained, ReplayReport, check_position, replay
from leadkey.projections.configuration import ConfigurationExplained, configuration_history
from leadkey.projections.identifier_index import (
    IdentifierIndexProjection,
    RebuildReport,
    index_at,
)
from leadkey.projections.positions import event_positions
from leadkey.projections.what_if import Switch, WhatIfReport, what_if

from . import search
from .claims import KeyState, NewClaim, Progress, Recorded, SameAs, key_states
from .durable_index import DurableIndex, IndexBehind, differences, is_indexed
from .event_log import LeadLog
from .group_commit import GroupCommit
from .indexes import LeadIndex, MemoryIndex, StoredIndex
from .store_errors import check_open, store_errors, wrap_store_errors
from .stores import check_postgres, store_env
from .tokens import TokenReads, authorized, load_tokens, new_secret
from .views import LeadView, Lookup, Submission, WorkspaceInfo, WorkspaceView

logger = logging.getLogger("leadkey")

#: How many times a batch is re-decided after another writer got in first.
MAX_ATTEMPTS = 200
#: Seconds to wait for a PostgreSQL server before saying it cannot be reached.
CONNECT_TIMEOUT = 5.0
#: How many lookups at past positions keep the index they built (see ``Leadkey.find``).
PAST_INDEXES = 4
#: How many lead ids :meth:`Leadkey.leads` reads at a time.
LEADS_PAGE = 500
#: How many leads a page of :meth:`Leadkey.search_leads` holds unless told.
DEFAULT_LIMIT = search.DEFAULT_LIMIT

_T = TypeVar("_T")


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
        super().__init__(error.reason, empty=error.empty)
        self.config = config
        self.position = position


class Leadkey:
    """Create-or-update matching of lead payloads, event-sourced.

    ``store`` is a URL (``memory:``, ``sqlite:///file.db``, ``postgresql://…``).  Every
    decision is recorded before it is returned: a returned decision is durable in the
    store, and carries its log ``position`` and the time it was recorded.

    One instance may be shared by threads: reads (lookups, workspace views, audits)
    never wait for an ingest to commit, and payloads ingested from many threads at once
    are decided and committed together (see :meth:`submit`).  Every error it raises is a
    :class:`LeadkeyError`; each method says which kinds.
    """

    def __init__(
        self,
        store: str = "memory:",
        env: Mapping[str, str] | None = None,
        *,
        read_only: bool = False,
        connect_timeout: float = CONNECT_TIMEOUT,
        key_lifetime: timedelta = KEY_LIFETIME,
    ) -> None:
        """Open ``store``.  ``env`` adds ``eventsourcing`` settings (e.g. ``COMPRESSOR_TOPIC``).

        ``read_only`` opens a SQLite file read-only (for reads: a read-only file or folder
        works, and a missing file is not created); recording then fails.  A PostgreSQL
        server that does not answer within ``connect_timeout`` seconds is unavailable.
        An idempotency key stands for its payload for ``key_lifetime`` (:meth:`ingest`).

        On SQLite and PostgreSQL the identifier index is kept in the store with the
        events.  Opening checks it: one that cannot be trusted is rebuilt from the log,
        and why is logged and kept in :attr:`index_repairs`; one behind the log catches
        up.  Read-only, such an index is not repaired: it is built in memory instead.

        Raises ``InvalidConfiguration`` (a store URL or ``env`` setting leadkey cannot
        use) or ``StoreUnavailable`` (the store cannot be reached or opened).
        """
        settings = {**store_env(store, read_only=read_only), **(env or {})}
        self._closed = False
        self._key_lifetime = key_lifetime
        #: What opening found wrong with the stored index (it was rebuilt, or bypassed).
        self.index_repairs: list[str] = []
        #: Batches decided again because another writer recorded in the workspace first.
        self.redecided = 0
        self._write_lock = RLock()
        self._past: OrderedDict[int, IdentifierIndexProjection] = OrderedDict()
        self._past_lock = Lock()
        self._group = GroupCommit(self._record_group)
        with store_errors():
            try:
                if settings["PERSISTENCE_MODULE"] == "eventsourcing.postgres":
                    timeout = str(max(1, round(connect_timeout)))
                    settings.setdefault("POSTGRES_CONNECT_TIMEOUT", timeout)
                    check_postgres(settings, connect_timeout)
                self._log = LeadLog(env=settings)
            except (ImportError, TopicError, InfrastructureFactoryError) as error:
                raise _cannot_open(error) from error
            self._index: LeadIndex = MemoryIndex(self._log, live=not read_only)
            self._token_reads = TokenReads(self._log)
            if is_indexed(self._log.recorder):
                self._open_stored_index(read_only)

    def _open_stored_index(self, read_only: bool) -> None:
        durable = DurableIndex(self._log)
        try:
            problem = durable.problem()
        except PersistenceError as error:  # read-only, on a store of an earlier leadkey
            problem = f"cannot be read ({error})"
        if read_only:
            tracked, last = durable.positions()
            if problem is None and tracked == last:
                self._index = StoredIndex(durable)
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
        self._index = StoredIndex(durable)

    # -- what users of eventsourcing rely on ----------------------------------------

    @property
    def notification_log(self) -> LocalNotificationLog:
        """The log, in order, for downstream consumers (eventsourcing's notification log;
        turn a notification into its event with :attr:`mapper`)."""
        return self._log.notification_log

    @property
    def mapper(self) -> Mapper[UUID]:
        """Turns the log's notifications into domain events (``to_domain_event``)."""
        return self._log.mapper

    @property
    def env(self) -> Mapping[str, str]:
        """The ``eventsourcing`` settings in force (read-only)."""
        return MappingProxyType(dict(self._log.env))

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called: every method then raises ``StoreUnavailable``."""
        return self._closed

    def close(self) -> None:
        """Record what was submitted, then close the store (again: nothing to do)."""
        self._group.close()
        if not self._closed:
            self._closed = True
            self._log.close()

    def __enter__(self) -> Leadkey:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- workspaces ---------------------------------------------------------------

    @wrap_store_errors
    def create_workspace(
        self,
        name: str,
        *,
        country: str = "IN",
        identifier: str = "phone",
        timezone: str = "UTC",
        fields: Mapping[str, str] | None = None,
    ) -> WorkspaceInfo:
        """Create a workspace.  Raises ``InvalidConfiguration`` if it is invalid or exists."""
        if not isinstance(name, str):
            raise InvalidArgument(f"a workspace name is a string, not {type(name).__name__}")
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
                self._index.put(events)
                return self.workspace_info(name)
            except IndexBehind:  # caught up: these events do not depend on the index
                continue
            except IntegrityError:
                raise InvalidConfiguration(f"workspace {name!r} already exists") from None
        raise ConcurrencyError(f"the index kept moving while workspace {name!r} was created")

    @wrap_store_errors
    def workspace_info(self, name: str) -> WorkspaceInfo:
        """The workspace's configuration and counts of leads.  Its cost does not grow with
        the log (on SQLite and PostgreSQL).  Raises ``UnknownWorkspace``."""
        return self._index.info(self._state(name))

    @wrap_store_errors
    def workspace(self, name: str) -> WorkspaceView:
        """A read-only copy of the workspace's whole index (every lead's version, the
        index under the identifier in force).  Raises ``UnknownWorkspace``."""
        return self._index.view(self._state(name))

    @wrap_store_errors
    def workspace_created(self, name: str) -> datetime:
        """When the workspace was created (UTC), from its creation event (reads its
        configuration events, a few).  Raises ``UnknownWorkspace``."""
        _check_name(name)
        return self._load(name).created_on

    @wrap_store_errors
    def check_workspace(self, name: str) -> None:
        """Raise ``UnknownWorkspace`` unless ``name`` exists (reads no index: cheap)."""
        _check_name(name)
        if workspace_id(name) not in self._log.repository:
            raise UnknownWorkspace(name)

    @wrap_store_errors
    def add_field(self, workspace: str, api_name: str, field_type: str) -> None:
        """Define a new lead field in ``workspace``.  Raises ``UnknownWorkspace``,
        ``InvalidConfiguration``."""
        self._command(workspace, lambda ws: ws.add_field(api_name, field_type))

    @wrap_store_errors
    def change_identifier(
        self, workspace: str, field: str, *, dry_run: bool = False
    ) -> RebuildReport:
        """Make ``field`` the lead identifier and return the index rebuild report.

        With ``dry_run`` nothing is recorded: the report says what the switch would do.
        Raises ``UnknownWorkspace``, ``InvalidConfiguration``.
        """
        return self._reconfigure(workspace, lambda ws: ws.change_identifier(field), dry_run)

    @wrap_store_errors
    def change_country(
        self, workspace: str, country: str, *, dry_run: bool = False
    ) -> RebuildReport:
        """Change the default country that completes phone numbers (as
        :meth:`change_identifier`)."""
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
        return self._index.plan(state, aggregate.identifier, aggregate.generation)

    def _command(self, workspace: str, command: Any) -> None:
        _check_name(workspace)
        with self._write_lock, self._index.turn(workspace_id(workspace)):
            for attempt in range(MAX_ATTEMPTS):
                sequence = self._state(workspace).sequence
                aggregate = self._load(workspace)
                command(aggregate)
                step = DecisionSequence.step(aggregate.id, sequence, "configuration")
                try:
                    self._index.put([*aggregate.collect_events(), step])
                    return
                except (IntegrityError, IndexBehind):
                    self._index.catch_up()
                    _pause(attempt)
        raise ConcurrencyError(f"workspace {workspace!r} kept changing under this command")

    def _load(self, workspace: str) -> Workspace:
        try:
            return self._log.repository.get(workspace_id(workspace))
        except AggregateNotFoundError:
            raise UnknownWorkspace(workspace) from None

    def _state(self, name: str) -> Any:
        _check_name(name)
        state = self._index.state(name)
        if state is None:
            raise UnknownWorkspace(name)
        return state

    # -- API tokens ---------------------------------------------------------------

    @wrap_store_errors
    def create_token(self, workspace: str, kind: str, name: str) -> tuple[TokenInfo, str]:
        """Create an API token of ``kind`` (``async`` or ``sync``) called ``name`` and
        return it with the token itself, which is shown this once: only its digest is
        recorded.  Raises ``UnknownWorkspace``, ``InvalidConfiguration`` (a bad kind or
        name, a name an active token has, or a fourth active token of that kind)."""
        kind = check_kind(kind)
        secret = new_secret(kind)
        token_id, digest = uuid4(), token_digest(secret)
        info = self._tokens_command(
            workspace, lambda tokens: tokens.create_token(token_id, name, kind, digest)
        )
        return info, secret

    @wrap_store_errors
    def tokens(self, workspace: str) -> list[TokenInfo]:
        """Every token the workspace has had, revoked ones too, oldest first.  Raises
        ``UnknownWorkspace``."""
        self.check_workspace(workspace)
        tokens = self._token_reads.get(workspace)
        return list(tokens.tokens.values()) if tokens else []

    @wrap_store_errors
    def revoke_token(self, workspace: str, token: str) -> TokenInfo:
        """Revoke the token with the id or active name ``token``: from the next request
        on it authorizes nothing.  Returns it, revoked.  Raises ``UnknownWorkspace``,
        ``InvalidConfiguration`` (no such token, or revoked already)."""
        if not isinstance(token, str):
            raise InvalidArgument(f"a token is named by its id or name, not {token!r}")
        return self._tokens_command(workspace, lambda tokens: tokens.revoke(token))

    @wrap_store_errors
    def authenticate(self, workspace: str, secret: str, kind: str) -> TokenInfo:
        """The active ``kind`` token of ``workspace`` that ``secret`` is.  Reads the
        store on every call (the events since the last read: one indexed query), so a
        token revoked by any process fails from the next call on.  Raises
        ``NotAuthorized`` for no token, one the workspace does not have (a token of
        another workspace, or no such workspace), a revoked one, one of the other kind."""
        if kind not in ("async", "sync"):
            raise InvalidArgument(f"a token is of kind async or sync, not {kind!r}")
        try:
            _check_name(workspace)
        except (UnknownWorkspace, InvalidArgument):
            raise NotAuthorized("not a token of this workspace") from None
        return authorized(self._token_reads.get(workspace), secret, kind)

    def _tokens_command(self, workspace: str, command: Callable[[WorkspaceTokens], _T]) -> _T:
        """Apply ``command`` to the workspace's tokens (started if it has none), record
        its events and return what it returns; again when another writer got in first."""
        self.check_workspace(workspace)
        with self._write_lock:
            for attempt in range(MAX_ATTEMPTS):
                tokens = self._tokens_of(workspace)
                result = command(tokens)
                try:
                    self._index.put(tokens.collect_events())
                    return result
                except (IntegrityError, IndexBehind):  # another writer got in first
                    self._index.catch_up()
                    _pause(attempt)
        raise ConcurrencyError(f"the tokens of workspace {workspace!r} kept changing")

    def _tokens_of(self, workspace: str) -> WorkspaceTokens:
        tokens = load_tokens(self._log, workspace)  # (afresh: to be changed)
        return tokens or WorkspaceTokens(workspace_id=workspace_id(workspace))

    # -- ingest -------------------------------------------------------------------

    def ingest(
        self,
        workspace: str,
        payload: Any,
        *,
        source: Mapping[str, Any] | None = None,
        key: str | None = None,
        drop_unknown: bool = False,
    ) -> Decision:
        """Decide and record one payload (an Async API body: JSON text, bytes or object)
        and return its decision, once committed.

        ``key`` is the caller's idempotency key for the payload: while the key is held
        (24 hours from its first use, :data:`KEY_LIFETIME`), the same payload under it
        again is answered with the first one's decision (``repeated`` set) and records
        nothing, and another payload under it raises ``KeyReused``.  The store holds
        the key with the decision: two writers cannot both record under one key.

        Calls from several threads at once are committed together (:meth:`submit`).
        Raises ``UnknownWorkspace`` (nothing recorded) unless ``drop_unknown``: then a
        payload for a workspace that does not exist is recorded as dropped.  Raises
        ``InvalidArgument`` for a ``source`` or ``key`` that cannot be recorded,
        ``KeyReused``, ``StoreUnavailable``, ``ConcurrencyError``.
        """
        return self.submit(
            workspace, payload, source=source, key=key, drop_unknown=drop_unknown
        ).result()

    async def ingest_async(
        self,
        workspace: str,
        payload: Any,
        *,
        source: Mapping[str, Any] | None = None,
        key: str | None = None,
        drop_unknown: bool = False,
    ) -> Decision:
        """:meth:`ingest` for asyncio: awaits the commit without blocking the event loop."""
        future = self.submit(workspace, payload, source=source, key=key, drop_unknown=drop_unknown)
        return await asyncio.wrap_future(future)

    def submit(
        self,
        workspace: str,
        payload: Any,
        *,
        source: Mapping[str, Any] | None = None,
        key: str | None = None,
        drop_unknown: bool = False,
    ) -> Future[Decision]:
        """Queue one payload for group commit and return at once: the future holds its
        decision once the batch that carries it has committed (or the error that kept
        that batch from being recorded, as :meth:`ingest` says).

        Payloads submitted while a batch commits make up the next batch: one transaction
        and one step of the workspace's decision sequence for all of them.  Payloads keep
        the order in which they were submitted.
        """
        _check_name(workspace)
        # (read now: a caller may change its payload or source once this returns)
        copied = dict(source) if isinstance(source, Mapping) else source
        submission = Submission(payload, copied, key)
        text = _payload_text(payload)
        return self._group.submit(workspace, submission, text, drop_unknown)

    def _record_group(
        self,
        workspace: str,
        submissions: Sequence[Submission],
        texts: Sequence[str],
        drop_unknown: bool,
    ) -> list[Decision | KeyReused]:
        with store_errors():
            return self._ingest_batch(workspace, submissions, texts, drop_unknown, strict=False)

    @wrap_store_errors
    def ingest_many(
        self,
        workspace: str,
        payloads: Iterable[Any],
        *,
        batch_size: int = 1000,
        drop_unknown: bool = False,
        input_id: str | None = None,
        start: int | None = None,
    ) -> Iterator[Decision]:
        """Decide and record payloads in order, committing ``batch_size`` at a time.

        Items are payloads or :class:`Submission`\\ s (with a source, and a key as
        :meth:`ingest` takes: a batch with a ``KeyReused`` payload raises it and records
        nothing).  Decisions are yielded only once their batch is committed, so every
        yielded decision is durable.

        ``input_id`` names the input (for a file, a digest of its content): each batch
        records how many of its payloads are recorded, with them, and a run with the
        same ``input_id`` skips that many first (:meth:`input_progress`), so an
        interrupted ingest run again records each payload once.  With ``start``, the
        caller has skipped them: ``payloads`` are the input's after its first ``start``,
        which must be what is recorded.  Two runs of one input at once: one stops with
        ``ConcurrencyError``.  Raises as :meth:`ingest` does.
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidArgument(f"batch_size must be a positive integer, not {batch_size!r}")
        _check_name(workspace)
        items = iter(payloads)
        progress = None
        if input_id is not None:
            progress = Progress.read(
                self._log.repository, workspace_id(workspace), check_key(input_id)
            )
            if start is None:
                deque(islice(items, progress.done), maxlen=0)  # recorded by an earlier run
            elif start != progress.done:
                raise ConcurrencyError(
                    f"{progress.done} payloads of input {input_id!r} are recorded, not {start}:"
                    " another run recorded some meanwhile"
                )
        for submissions, texts in iter(lambda: _batch(items, batch_size), None):
            results = self._ingest_batch(
                workspace, submissions, texts, drop_unknown, progress=progress
            )  # (all recorded, or KeyReused raised first)
            yield from (r for r in results if isinstance(r, Decision))

    @wrap_store_errors
    def input_progress(self, workspace: str, input_id: str) -> int:
        """How many payloads of the input ``input_id`` are recorded in ``workspace`` (the
        ones a run of :meth:`ingest_many` with that ``input_id`` skips)."""
        _check_name(workspace)
        return Progress.read(
            self._log.repository, workspace_id(workspace), check_key(input_id)
        ).done

    @wrap_store_errors
    def create_lead(
        self,
        workspace: str,
        payload: Any,
        *,
        source: Mapping[str, Any] | None = None,
        key: str | None = None,
    ) -> Decision:
        """Create a lead from ``payload`` (a Sync API create), recorded as a decision.

        Raises ``LeadExists`` when a lead has the payload's key, ``PayloadRejected`` when
        ingesting it would drop it (no usable identifier: its ``decision`` says why), and
        what :meth:`ingest` raises; in each case nothing is recorded.
        """
        return self._one(workspace, Submission(payload, source, key), _created)

    @wrap_store_errors
    def update_lead(
        self,
        workspace: str,
        lead_id: UUID | str,
        fields: Mapping[str, Any],
        *,
        source: Mapping[str, Any] | None = None,
        key: str | None = None,
    ) -> Decision:
        """Set ``fields`` of the lead ``lead_id`` (a Sync API update), recorded as a
        decision like any other: the payload recorded is ``fields`` with the lead's own
        identifier value, so it matches that lead, and replays and what-ifs read it as
        they read every payload.

        Raises ``UnknownLead``; ``IdentifierImmutable`` if ``fields`` holds the
        identifier field; ``PayloadRejected`` for a value its field's type refuses
        (all or nothing), or a lead its identifier no longer reaches (it has no usable
        value, or an older lead holds its key); nothing is then recorded.
        """
        _check_name(workspace)
        if not isinstance(fields, Mapping):
            raise InvalidArgument("fields map API names to values")
        config = self._state(workspace).config
        lead = self._lead(lead_id)
        if lead.workspace_id != config.workspace_id:
            raise UnknownLead(lead_id)
        if config.identifier in fields:
            raise IdentifierImmutable(config.identifier)
        body = {"fields": {config.identifier: lead.fields.get(config.identifier), **fields}}
        return self._one(workspace, Submission(body, source, key), _updated(lead.id))

    def _one(
        self, workspace: str, submission: Submission, check: Callable[[Decision], Any]
    ) -> Decision:
        _check_name(workspace)
        text = _payload_text(submission.payload)
        [answer] = self._ingest_batch(workspace, [submission], [text], False, check=check)
        assert isinstance(answer, Decision)  # (strict: KeyReused is raised)
        return answer

    def _config(self, workspace: str) -> MatchConfig | None:
        state = self._index.state(workspace)
        return state.config if state else None

    def _ingest_batch(
        self,
        workspace: str,
        submissions: Sequence[Submission],
        texts: Sequence[str],
        drop_unknown: bool,
        *,
        strict: bool = True,
        progress: Progress | None = None,
        check: Callable[[Decision], LeadkeyError | None] | None = None,
    ) -> list[Decision | KeyReused]:
        """Decide and record a batch, in one transaction with one sequence step: each
        payload's decision, or (unless ``strict``: then it is raised, nothing recorded)
        the ``KeyReused`` its key gave.  Payloads repeated under their key are answered
        with the decision recorded for them.  ``check`` may refuse a decision before
        anything is recorded: the error it returns is raised."""
        check_open(self)  # (between the batches of ingest_many too)
        ready: tuple[MatchConfig | None, list[Prepared]] | None = None
        uuid = workspace_id(workspace)
        with self._write_lock, self._index.turn(uuid):
            for attempt in range(MAX_ATTEMPTS):
                state = self._index.state(workspace)
                if state is None and not drop_unknown:
                    raise UnknownWorkspace(workspace)
                config = state.config if state else None
                keys = key_states(
                    self._log.repository,
                    uuid,
                    submissions,
                    texts,
                    self._key_lifetime,
                    read=attempt > 0,  # (first as if every key were new: the store says)
                )
                refused = next((k for k in keys if isinstance(k, KeyReused)), None)
                if strict and refused is not None:
                    raise refused
                todo = [i for i, k in enumerate(keys) if k is None or isinstance(k, NewClaim)]
                if ready is None or ready[0] != config:
                    ready = config, [prepare(config, text) for text in texts]
                decisions, events = self._decide(
                    workspace, state, submissions, ready[1], keys, todo
                )
                refusal = next(filter(None, map(check, decisions)), None) if check else None
                if refusal is not None:
                    if attempt == 0 and any(s.key is not None for s in submissions):
                        continue  # (a retry's key? read the claims, then decide again)
                    raise refusal
                if progress is not None:
                    events.append(progress.event(len(submissions)))
                try:
                    recordings = self._index.put(events) if events else []
                except (IntegrityError, IndexBehind):  # another writer got in first
                    self.redecided += 1
                    self._index.catch_up()  # (the index too, if that writer did not keep it)
                    if progress is not None:
                        progress.check(self._log.repository)
                    _pause(attempt)
                    continue
                if progress is not None:
                    progress.advanced(len(submissions))
                recorded = [
                    d.recorded(r.notification.id, r.domain_event.timestamp)
                    for d, r in zip(decisions, recordings[: len(decisions)], strict=True)
                ]
                return self._answers(keys, todo, recorded)
        raise ConcurrencyError("a batch kept conflicting with other writers")

    def _decide(
        self,
        workspace: str,
        state: Any,
        submissions: Sequence[Submission],
        ready: Sequence[Prepared],
        keys: Sequence[KeyState],
        todo: Sequence[int],
    ) -> tuple[list[Decision], list[Any]]:
        """The decisions of the payloads at ``todo`` and their events: the decisions',
        the key claims of the new keyed payloads, then the sequence step (if any)."""
        if not todo:
            return [], []
        index = None
        if state is not None:
            index = self._index.matches(state, [k for i in todo if (k := ready[i].key)])
        chosen = [submissions[i] for i in todo]
        decisions, events = self._conclude(workspace, index, chosen, [ready[i] for i in todo])
        claims = [
            claim.event(workspace_id(workspace), submission.key, event)
            for submission, event, claim in zip(
                chosen, events[: len(decisions)], (keys[i] for i in todo), strict=True
            )
            if isinstance(claim, NewClaim) and submission.key is not None
        ]
        events[len(decisions) : len(decisions)] = claims  # before the sequence step
        return decisions, events

    def _answers(
        self, keys: Sequence[KeyState], todo: Sequence[int], recorded: Sequence[Decision]
    ) -> list[Decision | KeyReused]:
        """Each payload's answer, in order: its decision (repeated: the recorded one)."""
        answers: list[Decision | KeyReused | None] = [None] * len(keys)
        for index, decision in zip(todo, recorded, strict=True):
            answers[index] = decision
        for index, state in enumerate(keys):
            if isinstance(state, KeyReused):
                answers[index] = state
            elif isinstance(state, Recorded):
                answers[index] = self._recorded_decision(state)
            elif isinstance(state, SameAs):
                first = answers[state.first]
                answers[index] = (
                    replace(first, repeated=True) if isinstance(first, Decision) else first
                )
        return [a for a in answers if a is not None]

    def _recorded_decision(self, recorded: Recorded) -> Decision:
        """The decision recorded by event ``recorded.version`` of ``recorded.aggregate``."""
        aggregate, version = recorded.aggregate, recorded.version
        [event] = self._log.events.get(aggregate, gt=version - 1, lte=version)
        position = event_positions(self._log, aggregate).get(version)
        return replace(Decision.of_event(event, position), repeated=True)

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
        event: Lead.LeadCreated | Lead.LeadFieldsUpdated | DroppedPayload.PayloadDropped
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

    @wrap_store_errors
    def lookup(self, workspace: str, value: Any, *, at: int | None = None) -> LeadView | None:
        """The lead whose identifier matches ``value`` (any spelling), or None: the
        ``lead`` of :meth:`find`, which says what it raises."""
        return self.find(workspace, value, at=at).lead

    @wrap_store_errors
    def find(self, workspace: str, value: Any, *, at: int | None = None) -> Lookup:
        """Look ``value`` up (any spelling): the configuration used, the key, the lead.

        With ``at``, as of that log position: the identifier then in force, the index as
        of that position (built from the log once, then reused for that position), and
        the lead's fields as they were.  Raises ``UnknownWorkspace``
        (``WorkspaceNotCreatedYet`` when the workspace was created after ``at``),
        ``PositionError`` (an ``InvalidArgument``) unless ``at`` is 0 to ``MAX_POSITION``
        (2**63 - 1), or ``UnusableLookup`` (an ``UnusableValue``) when ``value`` cannot
        be a key of the identifier in force.
        """
        if at is not None:
            check_position(at)
        _check_name(workspace)
        if at is None:
            state = self._state(workspace)
        else:
            state = self._index_at(at).view.workspace(workspace)
            if state is None:
                self.check_workspace(workspace)  # never created: UnknownWorkspace
                created = event_positions(self._log, workspace_id(workspace)).get(1)
                raise WorkspaceNotCreatedYet(workspace, at, created)
        return self._found(workspace, state, value, at)

    def _found(self, workspace: str, state: Any, value: Any, at: int | None) -> Lookup:
        """:meth:`find` in the workspace's ``state`` (now, or as of ``at``)."""
        while True:  # (until the identifier the key was made for is the one read)
            config = state.config
            try:
                key = identifier_key(config.identifier_type, value, config.country)
            except UnusableValue as error:
                raise UnusableLookup(error, config, at) from error
            index = state if at is not None else self._index.matches(state, [key])
            found = index.lookup(key)
            current = getattr(index, "current", True)  # (stored: not switched since ``state``)
            if state.config is config and current:
                break  # (in memory the state changes in place: ``WorkspaceIndex.reconfigure``)
            if not current:
                state = self._state(workspace)
        lead = None
        if found is not None:
            version = index.versions[found] if at is not None else None
            lead = replace(_lead_view(self._log.aggregate(found, version)), key=key)
        return Lookup(workspace, at, config, key, lead)

    def _index_at(self, position: int) -> IdentifierIndexProjection:
        """The index as of ``position``: the log up to a position never changes, so the
        index of a recent one is kept for reuse (past the log's end: of its end)."""
        position = min(position, self._log.recorder.max_notification_id() or 0)
        with self._past_lock:
            found = self._past.get(position)
            if found is not None:
                self._past.move_to_end(position)
                return found
        found = index_at(self._log, position)  # (built outside the lock: readers go on)
        with self._past_lock:
            self._past[position] = found
            while len(self._past) > PAST_INDEXES:
                self._past.popitem(last=False)
        return found

    @wrap_store_errors
    def lead(self, lead_id: UUID | str, *, workspace: str | None = None) -> LeadView:
        """The lead with that id (a UUID or its text), as it is now: its key is the one it
        was created with.  Raises ``UnknownLead`` (also, given ``workspace``, for a lead
        of another workspace)."""
        lead = self._lead(lead_id)
        if workspace is not None:
            _check_name(workspace)
            if lead.workspace_id != workspace_id(workspace):
                raise UnknownLead(lead_id)
        return _lead_view(lead)

    def _lead(self, lead_id: object) -> Lead:
        uuid = _lead_uuid(lead_id)
        try:
            aggregate: object = self._log.aggregate(uuid)
        except AggregateNotFoundError:
            raise UnknownLead(lead_id) from None
        if not isinstance(aggregate, Lead):
            raise UnknownLead(lead_id)
        return aggregate

    @wrap_store_errors
    def leads(self, workspace: str, *, newest_first: bool = True) -> Iterator[LeadView]:
        """Every lead of the workspace as it is now (its key: the one it was created
        with), newest first (or oldest first), each once: the leads it has when the
        iteration starts.

        Lazy, in constant memory: lead ids are read :data:`LEADS_PAGE` at a time (on
        SQLite and PostgreSQL from the stored index, a short read per page; in memory
        from the index), then each lead from its own events.  Raises
        ``UnknownWorkspace`` when called; ``StoreUnavailable`` while iterated.
        """
        state = self._state(workspace)
        return self._lead_views(self._index.lead_pages(state, newest_first, LEADS_PAGE))

    @wrap_store_errors
    def search_leads(
        self,
        workspace: str,
        filters: Mapping[str, Any] | None = None,
        *,
        skip: int = 0,
        limit: int = DEFAULT_LIMIT,
        scan: bool = True,
    ) -> tuple[int, list[LeadView]]:
        """The leads whose fields match ``filters`` (API name -> value or array of values;
        None or empty: every lead), newest first: how many match, and the page of at
        most ``limit`` (1 to 100) from ``skip`` on.  See :mod:`leadkey.adapters.search`
        for the matching.

        A filter on the identifier field is answered by the index (one lookup per value,
        then the other filters on the leads found); other filters read every lead of
        the workspace (:meth:`leads`), in constant memory, unless ``scan`` is False:
        then such a search raises ``SearchNeedsScan``, for a caller that must answer
        quickly.  No filter reads only the page.  Raises ``UnknownWorkspace``,
        ``InvalidSearch``.
        """
        search.check_page(skip, limit)
        state = self._state(workspace)
        wanted = search.read_filters(filters or {}, state.config)
        if wanted.impossible:
            return 0, []
        if wanted.identifier is not None:
            found: dict[UUID, LeadView] = {}
            for value in wanted.identifier:
                try:
                    lead = self._found(workspace, state, value, None).lead
                except UnusableLookup:
                    continue
                if lead is not None and wanted.matches(lead.fields):
                    found[lead.lead_id] = lead
            newest = sorted(found.values(), key=_creation, reverse=True)
            return len(newest), newest[skip : skip + limit]
        if not wanted.checks:
            pages = self._index.lead_pages(state, True, LEADS_PAGE)
            ids = islice((i for page in pages for i in page), skip, skip + limit)
            return self._index.info(state).leads, list(self._lead_views(iter([list(ids)])))
        if not scan:
            raise SearchNeedsScan("only a read of every lead can answer these filters")
        return search.page(self.leads(workspace), wanted, skip, limit)

    @wrap_store_errors
    def _lead_views(self, pages: Iterator[list[UUID]]) -> Iterator[LeadView]:
        for page in pages:
            check_open(self)  # (at every page, as between the batches of ingest_many)
            for lead_id in page:
                yield _lead_view(self._log.aggregate(lead_id))

    # -- audit --------------------------------------------------------------------

    @wrap_store_errors
    def replay(self, workspace: str, *, until: int | None = None) -> ReplayReport:
        """Re-derive every decision recorded in ``workspace`` (up to log position
        ``until``) from the log before it and compare.  Raises ``UnknownWorkspace``,
        ``PositionError``."""
        if until is not None:
            check_position(until)
        self.check_workspace(workspace)
        return replay(self._log, workspace, until=until)

    @wrap_store_errors
    def explain_lead(self, lead_id: UUID | str) -> list[DecisionExplained]:
        """Every decision that created or updated the lead, oldest first, each with its
        log position and the field changes it made.  Raises ``UnknownLead``."""
        uuid = _lead_uuid(lead_id)
        try:
            return audit.explain_lead(self._log, uuid)
        except AggregateNotFoundError:
            raise UnknownLead(lead_id) from None

    @wrap_store_errors
    def explain_position(self, position: int) -> DecisionExplained | ConfigurationExplained | None:
        """The decision or configuration change recorded at log ``position`` (None if
        neither is there: nothing, or a step of a decision sequence).  Raises
        ``PositionError``."""
        return audit.explain_position(self._log, position)

    @wrap_store_errors
    def explain_decision(self, workspace: str, position: int) -> DecisionExplained | None:
        """The decision about a payload of ``workspace`` recorded at log ``position``
        (a receipt), or None if that position holds no decision of that workspace.
        Raises ``PositionError``."""
        _check_name(workspace)
        return audit.explain_decision(self._log, position, workspace_id(workspace))

    @wrap_store_errors
    def configuration_history(self, workspace: str) -> list[ConfigurationExplained]:
        """Every change of the workspace's configuration, its creation first, each with
        its log position and what changed.  Raises ``UnknownWorkspace``."""
        _check_name(workspace)
        return configuration_history(self._log, workspace)

    @wrap_store_errors
    def positions_of_line(self, workspace: str, line: int, file: str | None = None) -> list[int]:
        """Log positions of the decisions recorded for input line ``line`` (of ``file``)."""
        self.check_workspace(workspace)
        return audit.positions_of_line(self._log, workspace, line, file)

    @wrap_store_errors
    def what_if(
        self, workspace: str, switches: Switch | Sequence[Switch], *, until: int | None = None
    ) -> WhatIfReport:
        """What the workspace's decisions (up to log position ``until``) would have been
        under other identifier or country switches, replayed from its log; nothing is
        recorded.  Raises ``WhatIfError`` (an ``InvalidArgument``) for a workspace not in
        the log up to ``until``, a switch to a field that is not (yet) an identifier-type
        field of the workspace, or to an unknown country."""
        _check_name(workspace)
        if until is not None:
            check_position(until)
        return what_if(self._log, workspace, switches, until=until)

    # -- the stored index ------------------------------------------------------------

    @wrap_store_errors
    def stored_index_status(self) -> dict[str, Any] | None:
        """The stored index's position, the log's last position, and why the index
        cannot be trusted (``problem``, None if it can); None without a stored index."""
        if not is_indexed(self._log.recorder):
            return None
        durable = DurableIndex(self._log)
        try:
            position, log = durable.positions()
            problem = durable.problem()
        except PersistenceError:  # a store of an earlier leadkey, opened read-only
            log = self._log.recorder.max_notification_id() or 0
            position, problem = 0, "has no tables yet (the next writing command builds them)"
        return {"position": position, "log": log, "problem": problem}

    @wrap_store_errors
    def rebuild_stored_index(self) -> int | None:
        """Build the stored index again from the whole log; its position (None: this
        store keeps none)."""
        if not is_indexed(self._log.recorder):
            return None
        durable = DurableIndex(self._log)
        with self._write_lock:
            position = durable.rebuild()
            self._index = StoredIndex(durable)
        return position

    @wrap_store_errors
    def stored_index_differences(self, workspace: str) -> tuple[int, list[str]] | None:
        """Compare the workspace's stored index with one rebuilt from the log at the
        stored position: that position and the differences (none: equal).  None when
        this process does not read a stored index (``memory:``, or one it bypassed)."""
        _check_name(workspace)
        if not isinstance(self._index, StoredIndex):
            return None
        position, stored, counts = self._index.durable.snapshot(workspace)
        rebuilt = index_at(self._log, position).view.workspace(workspace)
        return position, differences(stored, counts, rebuilt)


def _lead_view(lead: Lead) -> LeadView:
    """The lead as it is in ``lead`` (its key: the one it was created with)."""
    return LeadView(lead.id, lead.key, dict(lead.fields), lead.version, lead.created_on)


def _creation(lead: LeadView) -> tuple[bool, datetime]:
    """Sorts leads by creation (a lead read without its time first)."""
    created = lead.created_at
    return (created is not None, created or datetime.min)


def _pause(attempt: int) -> None:
    """Back off before retrying after a conflict (random, growing up to 0.1 s)."""
    time.sleep(random.uniform(0, min(0.1, 0.001 * 2**attempt)))


def _created(decision: Decision) -> LeadkeyError | None:
    """Why a decision is not the creation of a lead, if it is not."""
    if decision.outcome is Outcome.UPDATED:
        return LeadExists(str(decision.key), decision.lead_id)
    if decision.outcome is Outcome.DROPPED:
        return PayloadRejected(decision.message or str(decision.reason), decision)
    return None


def _updated(lead_id: UUID) -> Callable[[Decision], LeadkeyError | None]:
    """Why a decision is not an update of ``lead_id`` with every value taken, if not."""

    def check(decision: Decision) -> LeadkeyError | None:
        if decision.outcome is not Outcome.UPDATED or decision.lead_id != lead_id:
            return PayloadRejected(
                f"lead {lead_id} cannot be updated: its identifier value no longer reaches "
                "it (it has none, or an older lead holds its key)",
                decision,
            )
        if decision.rejected:
            problems = "; ".join(f"{api}: {why}" for api, why in decision.rejected.items())
            return PayloadRejected(f"invalid field values: {problems}", decision)
        return None

    return check


def _cannot_open(error: Exception) -> InvalidConfiguration:
    """Why the store cannot be opened: its driver is missing (``error`` is an ImportError
    or wraps one), or an ``eventsourcing`` setting names nothing it can use."""
    cause: BaseException | None = error
    while cause is not None and not isinstance(cause, ImportError):
        cause = cause.__cause__ or cause.__context__
    if cause is None:
        return InvalidConfiguration(f"cannot open the store: {error}")
    return InvalidConfiguration(
        f"cannot open the store: {cause} (PostgreSQL needs: pip install 'leadkey[postgres]')"
    )


def _lead_uuid(lead_id: object) -> UUID:
    """A lead id given as a UUID or its text; ``UnknownLead`` for text that is not one."""
    if isinstance(lead_id, UUID):
        return lead_id
    if not isinstance(lead_id, str):
        raise InvalidArgument(f"a lead id is a UUID or its text, not {type(lead_id).__name__}")
    try:
        return UUID(lead_id)
    except ValueError:
        raise UnknownLead(lead_id) from None


def _check_name(workspace: object) -> None:
    if not isinstance(workspace, str):
        raise InvalidArgument(f"a workspace name is a string, not {type(workspace).__name__}")
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
