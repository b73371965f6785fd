"""``serve``: the HTTP service (the Async API and receipts) over the store."""

from __future__ import annotations

import click

from ..rate_limits import REQUESTS_PER_HOUR
from .base import CliError, main, open_app, redacted, state_of, store_option


@main.command()
@store_option
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option(
    "--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="The port."
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Processes serving requests, each with its own connection to the store.",
)
@click.option(
    "--rate-limit",
    default=REQUESTS_PER_HOUR,
    show_default=True,
    type=click.IntRange(min=1),
    help="Requests a token may make an hour (all workers together); then 429.",
)
@click.option("--access-log", is_flag=True, help="Log every request (it costs throughput).")
@click.pass_context
def serve(
    ctx: click.Context, host: str, port: int, workers: int, rate_limit: int, access_log: bool
) -> None:
    """Serve the Async API (POST /enterprise/WORKSPACE/autoupdatelead) and receipts over
    HTTP until stopped; GET /openapi.json describes them.  Needs the http extra."""
    try:
        from leadkey.adapters.http.server import run
    except ImportError as error:
        raise CliError(
            f"leadkey serve needs the http extra: pip install 'leadkey[http]' ({error})"
        ) from error
    store = state_of(ctx).store
    app = open_app(ctx)  # (a store that cannot be used is said here, in one line)
    if workers > 1:
        app.close()  # each worker process opens its own
    click.echo(f"leadkey: serving {redacted(store)} on http://{host}:{port}", err=True)
    leadkey = None if workers > 1 else app
    run(
        store,
        host=host,
        port=port,
        workers=workers,
        leadkey=leadkey,
        rate_limit=rate_limit,
        access_log=access_log,
    )
