"""The ``WorkspaceTokens`` aggregate: a workspace's API tokens, kept as digests only.

A token is shown once, when it is created; the log holds only its SHA-256 digest.  At
most :data:`MAX_ACTIVE` tokens of each kind (``async``, ``sync``) are active in a
workspace at once, and an active token's name is unique among the active ones.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from .errors import InvalidConfiguration

#: The kinds of token: ``async`` for the Async API, ``sync`` for the Sync API.
KINDS = ("async", "sync")
#: Most active tokens of each kind in one workspace.
MAX_ACTIVE = 3
#: Longest token name, in characters.
MAX_TOKEN_NAME = 64


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token as it may be shown: never the token itself, nor its digest."""

    token_id: UUID
    name: str
    kind: str
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        """Whether the token still authenticates (it has not been revoked)."""
        return self.revoked_at is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "token_id": str(self.token_id),
            "name": self.name,
            "kind": self.kind,
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


def token_digest(secret: str) -> str:
    """The SHA-256 digest (hex) under which a token is stored.

    A fast hash is right here: a token is 32 random bytes, so no guessing or dictionary
    can recover it from its digest, and a slow password hash (scrypt, argon2), which
    protects low-entropy passwords, would only add milliseconds to every request.
    """
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def check_kind(kind: object) -> str:
    """``kind`` if it is a kind of token, else ``InvalidConfiguration``."""
    if kind not in KINDS:
        raise InvalidConfiguration(f"a token is of kind async or sync, not {kind!r}")
    return str(kind)


def check_token_name(name: object) -> str:
    """``name`` if a token can be called that (1 to 64 printable characters, not only
    whitespace, not a UUID: ids are), else ``InvalidConfiguration``."""
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_TOKEN_NAME:
        raise InvalidConfiguration(
            f"a token name must be 1 to {MAX_TOKEN_NAME} characters, not only whitespace"
        )
    if not name.isprintable():
        raise InvalidConfiguration("a token name must be printable Unicode text")
    if _as_uuid(name) is not None:
        raise InvalidConfiguration("a token name cannot be a UUID (token ids are)")
    return name


def _as_uuid(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None


class WorkspaceTokens(Aggregate):
    """The API tokens of one workspace (id: :meth:`create_id` of the workspace's id).

    The token events are applied by their own ``apply`` methods rather than ``@event``
    methods: they need the event's ``timestamp`` (when a token was created or revoked),
    which eventsourcing gives an event's ``apply`` but not a decorated method.
    """

    class Started(Aggregate.Created):
        workspace_id: UUID

    class TokenCreated(Aggregate.Event):
        token_id: UUID
        name: str
        kind: str
        digest: str

        def apply(self, aggregate: WorkspaceTokens) -> None:
            aggregate.tokens[self.token_id] = TokenInfo(
                self.token_id, self.name, self.kind, self.timestamp
            )
            aggregate.digests[self.token_id] = self.digest

    class TokenRevoked(Aggregate.Event):
        token_id: UUID

        def apply(self, aggregate: WorkspaceTokens) -> None:
            token = aggregate.tokens[self.token_id]
            aggregate.tokens[self.token_id] = replace(token, revoked_at=self.timestamp)

    @staticmethod
    def create_id(workspace_id: UUID) -> UUID:
        return uuid5(workspace_id, "tokens")

    @event(Started)
    def __init__(self, workspace_id: UUID) -> None:
        self.workspace_id = workspace_id
        #: Every token ever created, in creation order.
        self.tokens: dict[UUID, TokenInfo] = {}
        self.digests: dict[UUID, str] = {}

    def active(self, kind: str | None = None) -> list[TokenInfo]:
        """The active tokens (of ``kind``, if given), in creation order."""
        return [t for t in self.tokens.values() if t.active and kind in (None, t.kind)]

    def create_token(self, token_id: UUID, name: str, kind: str, digest: str) -> TokenInfo:
        """Add a token stored as ``digest``, and return it.  Raises ``InvalidConfiguration``
        for a bad kind or name, a name an active token has, or a fourth active token of
        ``kind``."""
        kind = check_kind(kind)
        check_token_name(name)
        if any(t.name == name for t in self.active()):
            raise InvalidConfiguration(f"an active token is already called {name!r}")
        if len(self.active(kind)) >= MAX_ACTIVE:
            raise InvalidConfiguration(
                f"a workspace has at most {MAX_ACTIVE} active {kind} tokens: revoke one first"
            )
        if token_id in self.tokens:
            raise InvalidConfiguration(f"token id {token_id} is taken")
        self.trigger_event(
            self.TokenCreated, token_id=token_id, name=name, kind=kind, digest=digest
        )
        return self.tokens[token_id]

    def revoke(self, token: str) -> TokenInfo:
        """Revoke the token with the id (text) or active name ``token``; return it,
        revoked.  Raises ``InvalidConfiguration`` if there is none, or it is revoked."""
        token_id = _as_uuid(token) if isinstance(token, str) else None
        found = self.tokens.get(token_id) if token_id else None
        if found is None:
            found = next((t for t in self.active() if t.name == token), None)
        if found is None:
            raise InvalidConfiguration(f"no token with the id or active name {token!r}")
        if not found.active:
            raise InvalidConfiguration(f"token {found.name!r} ({found.token_id}) is revoked")
        self.trigger_event(self.TokenRevoked, token_id=found.token_id)
        return self.tokens[found.token_id]

    def holder(self, secret: str) -> TokenInfo | None:
        """The token (active or revoked) whose digest is that of ``secret``, or None.
        Every digest is compared, in constant time each (``hmac.compare_digest``)."""
        digest = token_digest(secret)
        found = None
        for token_id, stored in list(self.digests.items()):  # (a copy: readers share it)
            if hmac.compare_digest(stored, digest):
                found = self.tokens[token_id]
        return found
