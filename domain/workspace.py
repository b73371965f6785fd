"""The ``Workspace`` aggregate: a workspace's fields and how it identifies leads."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from .errors import InvalidConfiguration
from .field_types import (
    IDENTIFIER_TYPES,
    STANDARD_FIELDS,
    FieldType,
    check_api_name,
    check_timezone,
    parse_field_type,
)
from .normalization import SUPPORTED_REGIONS

LEADKEY_NAMESPACE = uuid5(NAMESPACE_URL, "https://leadkey.dev/")
DEFAULT_IDENTIFIER = "phone"
DEFAULT_TIMEZONE = "UTC"


def workspace_id(name: str) -> UUID:
    """The id of the workspace called ``name`` (the same in every process)."""
    return uuid5(LEADKEY_NAMESPACE, f"workspace/{name}")


def check_country(country: str) -> str:
    """The region code ``country`` in upper case (``us`` is ``US``) if phonenumbers
    knows it as a region, else raise ``InvalidConfiguration``."""
    code = country.upper() if isinstance(country, str) and country.isascii() else None
    if code is None or code not in SUPPORTED_REGIONS:
        raise InvalidConfiguration(
            f"unknown default country {country!r}: use an ISO 3166 alpha-2 code "
            "that phonenumbers supports (e.g. IN, US, GB)"
        )
    return code


#: The longest workspace name, in characters.
MAX_NAME_LENGTH = 128


def check_workspace_name(name: str) -> str:
    """Return ``name`` if a workspace can be called that, else raise ``InvalidConfiguration``
    saying why (1 to 128 characters of printable Unicode text, not only whitespace)."""
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
        raise InvalidConfiguration(
            f"a workspace name must be 1 to {MAX_NAME_LENGTH} characters, not only whitespace"
        )
    if not name.isprintable():  # unpaired surrogates (not Unicode text) are not printable
        raise InvalidConfiguration("a workspace name must be printable Unicode text")
    return name


class Workspace(Aggregate):
    """A workspace: its lead fields, default country and lead identifier.

    ``generation`` counts identifier configurations: it goes up with every change
    of the identifier field or of the default country, and new lead ids are derived
    from it (see :meth:`Lead.create_id`).
    """

    class WorkspaceCreated(Aggregate.Created):
        name: str
        country: str
        timezone: str
        fields: dict[str, str]
        identifier: str

    class FieldAdded(Aggregate.Event):
        api_name: str
        field_type: str

    class IdentifierChanged(Aggregate.Event):
        old_field: str
        new_field: str
        generation: int

    class DefaultCountryChanged(Aggregate.Event):
        old_country: str
        new_country: str
        generation: int

    @staticmethod
    def create_id(name: str) -> UUID:
        return workspace_id(name)

    @classmethod
    def create(
        cls,
        name: str,
        *,
        country: str = "IN",
        identifier: str = DEFAULT_IDENTIFIER,
        timezone: str = DEFAULT_TIMEZONE,
        fields: dict[str, str] | None = None,
    ) -> Workspace:
        """Create a workspace after checking every setting; raise InvalidConfiguration."""
        check_workspace_name(name)
        all_fields = {api: str(t) for api, t in STANDARD_FIELDS.items()}
        for api_name, type_name in (fields or {}).items():
            try:
                check_api_name(api_name)
                field_type = parse_field_type(type_name)
            except ValueError as error:
                raise InvalidConfiguration(str(error)) from None
            if api_name in all_fields and all_fields[api_name] != field_type:
                standard = all_fields[api_name]
                raise InvalidConfiguration(f"{api_name!r} is a standard {standard} field")
            all_fields[api_name] = str(field_type)
        _check_identifier(all_fields, identifier)
        try:
            check_timezone(timezone)
        except ValueError as error:
            raise InvalidConfiguration(str(error)) from None
        # (typed: for earlier versions of mypy, a call of an aggregate class, which
        # eventsourcing's metaclass makes, is of type Any)
        workspace: Workspace = cls(
            name=name,
            country=check_country(country),
            timezone=timezone,
            fields=all_fields,
            identifier=identifier,
        )
        return workspace

    @event(WorkspaceCreated)
    def __init__(
        self, name: str, country: str, timezone: str, fields: dict[str, str], identifier: str
    ) -> None:
        self.name = name
        self.country = country
        self.timezone = timezone
        self.fields = dict(fields)
        self.identifier = identifier
        self.generation = 0

    def add_field(self, api_name: str, field_type: str) -> None:
        """Define a new lead field."""
        try:
            check_api_name(api_name)
            parsed = parse_field_type(field_type)
        except ValueError as error:
            raise InvalidConfiguration(str(error)) from None
        if api_name in self.fields:
            raise InvalidConfiguration(
                f"field {api_name!r} already exists (type {self.fields[api_name]})"
            )
        self._field_added(api_name=api_name, field_type=str(parsed))

    @event(FieldAdded)
    def _field_added(self, api_name: str, field_type: str) -> None:
        self.fields = {**self.fields, api_name: field_type}

    def change_identifier(self, field: str) -> None:
        """Make ``field`` the lead identifier (a phone, email or text field)."""
        _check_identifier(self.fields, field)
        if field == self.identifier:
            raise InvalidConfiguration(f"{field!r} is already the lead identifier")
        self._identifier_changed(
            old_field=self.identifier, new_field=field, generation=self.generation + 1
        )

    @event(IdentifierChanged)
    def _identifier_changed(self, old_field: str, new_field: str, generation: int) -> None:
        self.identifier = new_field
        self.generation = generation

    def change_country(self, country: str) -> None:
        """Change the default country used to complete phone numbers."""
        country = check_country(country)
        if country == self.country:
            raise InvalidConfiguration(f"{country!r} is already the default country")
        self._country_changed(
            old_country=self.country, new_country=country, generation=self.generation + 1
        )

    @event(DefaultCountryChanged)
    def _country_changed(self, old_country: str, new_country: str, generation: int) -> None:
        self.country = new_country
        self.generation = generation


#: The events that change a workspace's configuration.
WORKSPACE_EVENTS = (
    Workspace.WorkspaceCreated,
    Workspace.FieldAdded,
    Workspace.IdentifierChanged,
    Workspace.DefaultCountryChanged,
)


def _check_identifier(fields: dict[str, str], field: str) -> None:
    if not isinstance(field, str) or field not in fields:
        raise InvalidConfiguration(f"no field {field!r} in this workspace")
    if FieldType(fields[field]) not in IDENTIFIER_TYPES:
        raise InvalidConfiguration(
            f"field {field!r} is of type {fields[field]}: the lead identifier must be "
            "a phone, email or text field"
        )
