"""``workspace create``, ``workspace show`` and ``field add``."""

from __future__ import annotations

from typing import Any

import click

from leadkey.domain.field_types import STANDARD_FIELDS

from .base import (
    CliError,
    echo_json,
    ensure_workspace,
    json_option,
    main,
    open_app,
    shown,
    store_option,
    workspace_option,
)


def _echo_workspace(data: dict[str, Any]) -> None:
    click.echo(f"workspace   {data['workspace']}")
    click.echo(f"identifier  {data['identifier']} ({data['identifier_type']})")
    click.echo(f"country     {data['country']}")
    click.echo(f"timezone    {data['timezone']}")
    click.echo(f"generation  {data['generation']}")
    click.echo(f"leads       {data['leads']} ({data['indexed']} matchable by the identifier)")
    click.echo("fields")
    width = max(len(api) for api in data["fields"])
    for api, field_type in data["fields"].items():
        click.echo(f"  {api:<{width}}  {field_type}")


def _parse_field_spec(spec: str) -> tuple[str, str]:
    api_name, sep, field_type = spec.partition(":")
    if not sep or not api_name.strip() or not field_type.strip():
        raise CliError(f"bad field spec {shown(spec)}: use API_NAME:TYPE, e.g. rating:rating")
    return api_name.strip(), field_type.strip()


@main.group()
def workspace() -> None:
    """Create and inspect workspaces."""


@workspace.command("create")
@click.argument("name")
@store_option
@click.option(
    "--country",
    default="IN",
    show_default=True,
    metavar="CC",
    help="Default country for phone numbers (ISO 3166 alpha-2).",
)
@click.option(
    "--identifier",
    default="phone",
    show_default=True,
    metavar="FIELD",
    help="The lead identifier field (a phone, email or text field).",
)
@click.option(
    "--timezone",
    default="UTC",
    show_default=True,
    metavar="TZ",
    help="IANA time zone for date fields.",
)
@click.option(
    "--field",
    "field_specs",
    multiple=True,
    metavar="API_NAME:TYPE",
    help="A custom field (repeatable), e.g. --field rating:rating.",
)
@json_option
@click.pass_context
def workspace_create(
    ctx: click.Context,
    name: str,
    country: str,
    identifier: str,
    timezone: str,
    field_specs: tuple[str, ...],
    as_json: bool,
) -> None:
    """Create the workspace NAME (standard fields: name, phone, email)."""
    fields: dict[str, str] = {}
    for spec in field_specs:
        api_name, field_type = _parse_field_spec(spec)
        if api_name in fields:
            raise CliError(f"field {shown(api_name)} is given twice")
        fields[api_name] = field_type
    index = open_app(ctx).create_workspace(
        name, country=country, identifier=identifier, timezone=timezone, fields=fields
    )
    data = index.as_dict()
    if as_json:
        echo_json(data)
        return
    field_list = ", ".join(f"{api} ({t})" for api, t in data["fields"].items())
    click.echo(
        f"Created workspace {name!r}: identifier {data['identifier']}, "
        f"country {data['country']}, timezone {data['timezone']}."
    )
    click.echo(f"Fields: {field_list}")


@workspace.command("show")
@workspace_option
@store_option
@json_option
@click.pass_context
def workspace_show(ctx: click.Context, workspace: str, as_json: bool) -> None:
    """Show a workspace's fields, identifier, country, generation and lead count."""
    data = open_app(ctx, read_only=True).workspace_info(workspace).as_dict()
    if as_json:
        echo_json(data)
    else:
        _echo_workspace(data)


@main.group("field")
def field_group() -> None:
    """Define lead fields."""


@field_group.command("add")
@click.argument("api_name")
@click.argument("field_type", metavar="TYPE")
@workspace_option
@store_option
@click.pass_context
def field_add(ctx: click.Context, api_name: str, field_type: str, workspace: str) -> None:
    """Add the field API_NAME of type TYPE (text, phone, email, number, date,
    dropdown, tags, money, website, medialink, rating)."""
    app = open_app(ctx)
    if api_name in STANDARD_FIELDS:  # as add_field says it, in a new workspace too
        standard = STANDARD_FIELDS[api_name]
        raise CliError(f"field {api_name!r} already exists (type {standard})")
    if not ensure_workspace(app, workspace, fields={api_name: field_type}):
        app.add_field(workspace, api_name, field_type)
    click.echo(f"Added field {api_name!r} ({field_type}) to workspace {workspace!r}.")
