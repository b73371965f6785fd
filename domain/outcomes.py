"""What a decision can be: its outcome and, for a dropped payload, the reason."""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """What a payload did: created a lead, updated one, or was dropped."""

    CREATED = "created"
    UPDATED = "updated"
    DROPPED = "dropped"


class DropReason(StrEnum):
    """Why a payload was not applied."""

    UNKNOWN_WORKSPACE = "unknown_workspace"
    PAYLOAD_MALFORMED = "payload_malformed"
    IDENTIFIER_MISSING = "identifier_missing"
    IDENTIFIER_EMPTY = "identifier_empty"
    IDENTIFIER_UNUSABLE = "identifier_unusable"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    PAYLOAD_TOO_DEEP = "payload_too_deep"
    NUMBER_TOO_LONG = "number_too_long"
    TOO_MANY_FIELDS = "too_many_fields"
