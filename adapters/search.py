"""Lead search (the Sync API's ``POST /lead/search``): filters read under a workspace's
configuration, and matched against a lead's fields.

A filter maps a field's API name to a value or an array of values (which OR); fields
AND.  Matching is exact, ignoring case (``fold_text``), except for ``status`` and the
status and lost-reason types, which keep it.  A value for a field of the identifier's
type is compared by its key under leadkey's rules (any spelling of a phone number);
another value is first read as its field's type reads it where it fits (a date in
either form, a phone number of a phone field), so it compares with the stored form.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from leadkey.domain.decisions import MatchConfig, identifier_key
from leadkey.domain.errors import InvalidSearch, UnusableValue
from leadkey.domain.field_types import FieldRejected, FieldType, coerce
from leadkey.domain.normalization import fold_text

from .views import LeadView

#: The most leads (and actions of a lead) one page holds.
MAX_LIMIT = 100
#: The page size when none is asked for.
DEFAULT_LIMIT = 10
#: Filters telecrm has that leadkey cannot answer, and why.
UNSUPPORTED = {
    "created_on": "leadkey keeps no lead creation filter yet",
}
#: Field types and API names whose values keep their case in a search.
CASE_SENSITIVE_TYPES = frozenset({"status", "lostReason"})
CASE_SENSITIVE_NAMES = frozenset({"status"})

Form = Callable[[Any], Hashable | None]


def check_page(skip: int, limit: int) -> None:
    """``InvalidSearch`` (telecrm's message) unless ``skip >= 0`` and ``1 <= limit <=
    100``, both integers."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidSearch(f"Limit should be between 1 and {MAX_LIMIT}")
    if isinstance(skip, bool) or not isinstance(skip, int) or skip < 0:
        raise InvalidSearch("Skip should be 0 or more")


def search_body(body: Mapping[str, Any]) -> Mapping[str, Any]:
    """The field filters of a search body ``{"fields": {...}}`` (``{}``: every lead);
    ``InvalidSearch`` for action filters and anything else."""
    for name in body:
        if name == "actions":
            raise InvalidSearch(
                "unsupported filter 'actions': leadkey records actions with their payload "
                "but keeps no timeline to search"
            )
        if name != "fields":
            raise InvalidSearch(f"unknown search key {name[:64]!r}: a search body has 'fields'")
    fields = body.get("fields", {})
    if not isinstance(fields, Mapping):
        raise InvalidSearch("'fields' is an object of field filters")
    return fields


@dataclass(frozen=True, slots=True)
class Check:
    """One field's filter: a lead matches when the field's value (or one of its items)
    has one of the ``wanted`` forms."""

    field: str
    wanted: frozenset[Hashable]
    form: Form

    def matches(self, fields: Mapping[str, Any]) -> bool:
        value = fields.get(self.field)
        values = value if isinstance(value, list) else [value]
        return any(value is not None and self.form(value) in self.wanted for value in values)


@dataclass(frozen=True, slots=True)
class Filters:
    """A search's filters under one configuration: ``identifier``, the values given for
    the identifier field (None if it is not filtered: the index answers it), and the
    ``checks`` of every other field."""

    identifier: tuple[Any, ...] | None
    checks: tuple[Check, ...]

    @property
    def impossible(self) -> bool:
        """No lead can match (a filter with no value any lead can have)."""
        return any(not check.wanted for check in self.checks) or self.identifier == ()

    def matches(self, fields: Mapping[str, Any]) -> bool:
        return all(check.matches(fields) for check in self.checks)


def read_filters(filters: Mapping[str, Any], config: MatchConfig) -> Filters:
    """``filters`` (API name -> value or array of values) read under ``config``;
    ``InvalidSearch`` for an unsupported filter or a value that is not a string,
    number or boolean."""
    if not isinstance(filters, Mapping):
        raise InvalidSearch("field filters map API names to values")
    identifier: tuple[Any, ...] | None = None
    checks = []
    for api, given in filters.items():
        if api in UNSUPPORTED:
            raise InvalidSearch(f"unsupported filter 'fields.{api}': {UNSUPPORTED[api]}")
        values = tuple(given) if isinstance(given, list) else (given,)
        if not all(_is_scalar(value) for value in values):
            raise InvalidSearch(
                f"filter 'fields.{str(api)[:64]}': a value is a string, number or boolean, "
                "or an array of them"
            )
        if api == config.identifier:
            identifier = values
            continue
        form = _form_of(api, config)
        forms = (_wanted(api, value, config, form) for value in values)
        checks.append(Check(api, frozenset(f for f in forms if f is not None), form))
    return Filters(identifier, tuple(checks))


def page(
    leads: Iterable[LeadView], filters: Filters, skip: int, limit: int
) -> tuple[int, list[LeadView]]:
    """How many of ``leads`` match ``filters``, and the matching ones from ``skip`` on,
    at most ``limit`` (kept in order; memory: the page)."""
    total, kept = 0, []
    for lead in leads:
        if filters.matches(lead.fields):
            if skip <= total < skip + limit:
                kept.append(lead)
            total += 1
    return total, kept


def _form_of(api: str, config: MatchConfig) -> Form:
    """How a stored value of the field ``api`` compares."""
    field_type = config.fields.get(api)
    if api in CASE_SENSITIVE_NAMES or str(field_type) in CASE_SENSITIVE_TYPES:
        return _exact
    if field_type is not None and field_type is config.identifier_type:
        return lambda value: _key(field_type, value, config.country)
    return _folded


def _wanted(api: str, value: Any, config: MatchConfig, form: Form) -> Hashable | None:
    """The form a filter value compares by (None: no lead can have it)."""
    field_type = config.fields.get(api)
    if field_type is None:
        return None  # (no lead has a field the workspace does not define)
    if form is _folded:
        try:
            value = coerce(field_type, value, country=config.country, timezone=config.timezone)
        except FieldRejected:
            pass  # (compared as given: e.g. one tag of a tags field)
        else:
            value = value.stored
    return form(value)


def _key(field_type: FieldType, value: Any, country: str) -> str | None:
    try:
        return identifier_key(field_type, value, country)
    except UnusableValue:
        return None


def _exact(value: Any) -> Hashable | None:
    return (type(value) is bool, value) if _is_scalar(value) else None


def _folded(value: Any) -> Hashable | None:
    if isinstance(value, str):
        return (False, fold_text(value))
    return _exact(value)


def _is_scalar(value: object) -> bool:
    return isinstance(value, str | int | float)  # (bool is an int)
