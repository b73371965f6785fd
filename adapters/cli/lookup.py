"""``lookup``: the lead a value matches, now or as of a log position."""

from __future__ import annotations

import json

import click

from ..application import (
    UnusableLookup,
)
from .base import (
    POSITION,
    CliError,
    echo_json,
    json_option,
    main,
    not_found,
    open_app,
    shown,
    store_option,
    workspace_option,
)


@main.command()
@click.argument("value")
@workspace_option
@store_option
@click.option(
    "--at",
    type=POSITION,
    metavar="POSITION",
    help="As of this log position (the identifier, index and fields then).",
)
@json_option
@click.pass_context
def lookup(ctx: click.Context, value: str, workspace: str, at: int | None, as_json: bool) -> None:
    """Find the lead whose identifier matches VALUE, in any spelling (exit 1 if none)."""
    as_of = "" if at is None else f" at position {at}"
    try:
        found = open_app(ctx, read_only=True).find(workspace, value, at=at)
    except UnusableLookup as error:
        config = error.config
        kind = str(config.identifier_type)
        raise CliError(
            f"cannot look up {shown(value)}{as_of} as {_article(kind)} {kind} "
            f"({config.identifier}): {error.reason}"
        ) from error
    lead = found.lead
    if lead is None:
        not_found(
            f"no lead matches {shown(value)} in workspace {workspace!r}{as_of} "
            f"(key {shown(found.key, quoted=False)}, identifier {found.config.identifier})"
        )
    if as_json:
        echo_json(lead.as_dict())
        return
    click.echo(f"lead_id  {lead.lead_id}")
    click.echo(f"key      {lead.key}")
    click.echo("fields")
    width = max((len(api) for api in lead.fields), default=0)
    for api, stored in lead.fields.items():
        text = stored if isinstance(stored, str) else json.dumps(stored, ensure_ascii=False)
        click.echo(f"  {api:<{width}}  {text}")


def _article(word: str) -> str:
    return "an" if word[:1].lower() in ("a", "e", "i", "o", "u") else "a"
