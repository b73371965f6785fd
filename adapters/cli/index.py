"""``index status`` and ``index rebuild``: the identifier index kept in the store."""

from __future__ import annotations

import click

from .base import CliError, echo_json, json_option, main, open_app, store_option


@main.group()
def index() -> None:
    """Inspect or rebuild the identifier index kept in the store with the events."""


@index.command("status")
@store_option
@json_option
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Where the stored index is in the log, and whether it can be trusted."""
    app = open_app(ctx, read_only=True)
    data = app.stored_index_status()
    if data is None:
        raise CliError("this store keeps no index")
    if as_json:
        echo_json(data)
        return
    click.echo(f"position  {data['position']} (the log ends at {data['log']})")
    click.echo(f"state     {data['problem'] or 'sound'}")


@index.command("rebuild")
@store_option
@click.pass_context
def rebuild(ctx: click.Context) -> None:
    """Build the stored index again from the whole log, in one transaction: writers wait
    until it is done (on SQLite, one that waits more than 10 s fails: run it again)."""
    app = open_app(ctx)
    position = app.rebuild_stored_index()
    if position is None:
        raise CliError("this store keeps no index")
    click.echo(f"Rebuilt the stored index from the log up to position {position}.")
