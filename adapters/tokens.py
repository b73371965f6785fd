"""API tokens: how a token is made, and how a presented token is checked."""

from __future__ import annotations

import secrets
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

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


def load_tokens(log: LeadLog, workspace: str) -> WorkspaceTokens | None:
    """The workspace's tokens as recorded (None: it never had one), read from the store."""
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
