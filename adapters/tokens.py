"""API tokens: how a token is made, and how a presented token is checked."""

from __future__ import annotations

import secrets
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Repository

from leadkey.domain.errors import NotAuthorized
from leadkey.domain.tokens import TokenInfo, WorkspaceTokens, check_kind
from leadkey.domain.workspace import workspace_id

from .event_log import LeadLog

_AN = {"async": "an async", "sync": "a sync"}
#: Random bytes in a token (their URL-safe base64 follows ``lk_<kind>_``).
TOKEN_BYTES = 32


def new_secret(kind: str) -> str:
    """A new token of ``kind``: ``lk_async_`` or ``lk_sync_`` and 32 random bytes."""
    return f"lk_{check_kind(kind)}_{secrets.token_urlsafe(TOKEN_BYTES)}"


def tokens_id(workspace: str) -> UUID:
    """The id of the :class:`WorkspaceTokens` of the workspace called ``workspace``."""
    return WorkspaceTokens.create_id(workspace_id(workspace))


#: Workspaces whose tokens a :func:`token_reader` keeps in memory.
CACHED_WORKSPACES = 1000


def token_reader(log: LeadLog) -> Repository[UUID]:
    """A repository of the log's events that keeps the tokens it read and, at every
    read, applies only the events recorded since (eventsourcing's fast-forwarding cache):
    one indexed query that finds nothing, unless the tokens changed, even in another
    process.  For reads only: commands load the tokens afresh."""
    return Repository(log.events, cache_maxsize=CACHED_WORKSPACES, fastforward=True)


def load_tokens(repository: Repository[UUID], workspace: str) -> WorkspaceTokens | None:
    """The workspace's tokens as recorded (None: it never had one), read from the store
    (from ``repository``'s cache, a shared copy: not to be changed)."""
    try:
        tokens: WorkspaceTokens = repository.get(tokens_id(workspace), deepcopy_from_cache=False)
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
