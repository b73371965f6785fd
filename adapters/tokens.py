"""API tokens: how a token is made, and how a presented token is checked."""

from __future__ import annotations

import copy
import secrets
import threading
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from leadkey.domain.errors import NotAuthorized
from leadkey.domain.tokens import TokenInfo, WorkspaceTokens, check_kind
from leadkey.domain.workspace import workspace_id

from .event_log import LeadLog, project

_AN = {"async": "an async", "sync": "a sync"}
#: Random bytes in a token (their URL-safe base64 follows ``lk_<kind>_``).
TOKEN_BYTES = 32


def new_secret(kind: str) -> str:
    """A new token of ``kind``: ``lk_async_`` or ``lk_sync_`` and 32 random bytes."""
    return f"lk_{check_kind(kind)}_{secrets.token_urlsafe(TOKEN_BYTES)}"


def tokens_id(workspace: str) -> UUID:
    """The id of the :class:`WorkspaceTokens` of the workspace called ``workspace``."""
    return WorkspaceTokens.create_id(workspace_id(workspace))


#: Workspaces whose tokens a :class:`TokenReads` keeps in memory.
CACHED_WORKSPACES = 1000


class TokenReads:
    """The workspaces' tokens as recorded, for checking presented tokens.

    Each call reads the events recorded since the copy it starts from (one indexed
    query that finds nothing unless the tokens changed, even in another process), so a
    revoked token fails from the next call on.  Unlike eventsourcing's fast-forwarding
    repository cache, whose lock lets one thread read at a time, calls from many
    threads read the store side by side: a copy is never changed once it is shared.
    For reads only: commands load the tokens afresh.
    """

    def __init__(self, log: LeadLog, maxsize: int = CACHED_WORKSPACES) -> None:
        self._events = log.events
        self._maxsize = maxsize
        self._copies: dict[UUID, WorkspaceTokens] = {}
        self._lock = threading.Lock()

    def get(self, workspace: str) -> WorkspaceTokens | None:
        """The workspace's tokens (None: it never had one): a shared copy, not to be
        changed."""
        uuid = tokens_id(workspace)
        known = self._copies.get(uuid)
        new = list(self._events.get(uuid, gt=known.version if known else None))
        if not new:
            return known
        tokens = project(copy.deepcopy(known), new)
        assert isinstance(tokens, WorkspaceTokens)
        with self._lock:
            latest = self._copies.get(uuid)
            if latest is None or latest.version < tokens.version:
                if latest is None and len(self._copies) >= self._maxsize:
                    self._copies.pop(next(iter(self._copies)))  # (the oldest kept)
                self._copies[uuid] = tokens
        return tokens


def load_tokens(log: LeadLog, workspace: str) -> WorkspaceTokens | None:
    """The workspace's tokens as recorded (None: it never had one), read afresh."""
    try:
        tokens: WorkspaceTokens = log.repository.get(tokens_id(workspace))
    except AggregateNotFoundError:
        return None
    return tokens


def authorized(tokens: WorkspaceTokens | None, secret: object, kind: str) -> TokenInfo:
    """The active token of ``kind`` that ``secret`` is, among ``tokens``; else raise
    ``NotAuthorized`` saying why (a workspace without tokens, or without a workspace,
    and a token of another workspace, are all "not a token of this workspace")."""
    if not isinstance(secret, str) or not secret:
        raise NotAuthorized("no token: send Authorization: Bearer <token>")
    holder = tokens.holder(secret) if tokens is not None else None
    if holder is None:
        raise NotAuthorized("not a token of this workspace")
    if not holder.active:
        raise NotAuthorized("the token was revoked")
    if holder.kind != kind:
        raise NotAuthorized(f"this endpoint takes {_AN[kind]} token, not {_AN[holder.kind]} token")
    return holder
