"""The errors leadkey raises: one base, :class:`LeadkeyError`, and a few kinds.

Each kind also derives from the built-in exception a Python caller would expect
(``LookupError`` for a name that is not there, ``ValueError`` for a value that is not
usable), so ``except ValueError`` keeps working.
"""

from __future__ import annotations


class LeadkeyError(Exception):
    """Every error leadkey raises derives from this."""


class InvalidArgument(LeadkeyError, ValueError, TypeError):
    """An argument of the wrong type or out of range (a programming error of the caller's:
    a workspace name that is not a string, a log position that cannot be one, a
    ``batch_size`` below 1)."""


class InvalidSearch(InvalidArgument):
    """A lead search that cannot run as asked: a filter leadkey does not support or
    cannot read, or a page outside ``skip >= 0`` and ``limit`` 1 to 100 (the message
    says which)."""


class SearchNeedsScan(InvalidSearch):
    """A search asked not to scan (``scan=False``) that only a read of every lead of the
    workspace could answer: its filters do not include the identifier field."""


class InvalidConfiguration(LeadkeyError, ValueError):
    """A workspace command the workspace's rules refuse (an unknown country or field
    type, a workspace that exists already, an identifier field that is not there …),
    or a store URL leadkey cannot use."""


class UnusableValue(LeadkeyError, ValueError):
    """A value that cannot be turned into a key; ``reason`` says why."""

    def __init__(self, reason: str, *, empty: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.empty = empty


class UnknownWorkspace(LeadkeyError, LookupError):
    """No workspace has that name.

    ``invalid`` says why no workspace can have that name (None if one could be created
    with it).
    """

    def __init__(self, name: str, *, invalid: str | None = None) -> None:
        super().__init__(f"unknown workspace {name!r}")
        self.name = name
        self._invalid = invalid

    @property
    def invalid(self) -> str | None:
        """Why no workspace can have this name (None if one could be created with it)."""
        from .workspace import check_workspace_name  # (the rules of names live there)

        if self._invalid is None:
            try:
                check_workspace_name(self.name)
            except InvalidConfiguration as error:
                return str(error)
        return self._invalid


class UnknownLead(LeadkeyError, LookupError):
    """No lead has that id."""

    def __init__(self, lead_id: object) -> None:
        super().__init__(f"unknown lead {lead_id}")
        self.lead_id = lead_id


class NotAuthorized(LeadkeyError):
    """A request's token does not authorize it: no token, one this workspace does not
    have (or no such workspace), a revoked one, or one of the other kind.  The message
    says which, and never names the workspace's tokens."""


class StoreUnavailable(LeadkeyError):
    """The store could not be reached or failed (a refused connection, a missing
    database, a file that cannot be written, a read-only store asked to record).
    ``__cause__`` is the store's own error.  Nothing was recorded by the call that
    raised it, unless it says otherwise."""


class ConcurrencyError(LeadkeyError):
    """A batch or command kept conflicting with other writers and was not recorded."""


class KeyReused(LeadkeyError, ValueError):
    """An idempotency key that stands for another payload already: nothing recorded."""

    def __init__(self, key: str) -> None:
        super().__init__(f"idempotency key {key!r} was used for another payload")
        self.key = key


class LeadExists(LeadkeyError):
    """A lead to create has the key of a lead that exists (``lead_id``): nothing recorded."""

    def __init__(self, key: str, lead_id: object) -> None:
        super().__init__(f"a lead with key {key!r} exists: {lead_id}")
        self.key = key
        self.lead_id = lead_id


class PayloadRejected(LeadkeyError, ValueError):
    """A payload a write of one lead (``create_lead``, ``update_lead``) refuses whole:
    ``decision`` says why (nothing recorded).  Ingest never raises it: it records the
    payload as dropped instead."""

    def __init__(self, message: str, decision: object = None) -> None:
        super().__init__(message)
        self.decision = decision


class IdentifierImmutable(LeadkeyError):
    """An update of a lead that sets its identifier field: nothing recorded."""

    def __init__(self, field: str) -> None:
        super().__init__(f"cannot modify lead identifier field {field!r}")
        self.field = field
