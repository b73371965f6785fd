"""``leads list``, ``leads export`` and ``lead show``: the leads as they are now."""

from __future__ import annotations

import csv
import json
import os
import secrets
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from typing import IO, Any

import click

from leadkey.domain.errors import UnknownLead

from ..views import LeadView
from .audit import echo_explained
from .base import (
    CliError,
    echo_json,
    json_option,
    main,
    open_app,
    shown,
    store_option,
    workspace_option,
)

#: How many leads ``leads export`` writes between two updates of its progress line.
PROGRESS_EVERY = 1000

#: The columns of every CSV export, before the workspace's fields.
CSV_COLUMNS = ("lead_id", "key", "version")


@main.group()
def leads() -> None:
    """List or export a workspace's leads as they are now."""


@leads.command("list")
@workspace_option
@store_option
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="At most N leads.")
@json_option
@click.pass_context
def list_leads(ctx: click.Context, workspace: str, limit: int | None, as_json: bool) -> None:
    """List the workspace's leads, newest first: a table, or with --json one lead per
    line (its id, key, version, creation time and fields)."""
    found = islice(open_app(ctx, read_only=True).leads(workspace), limit)
    if as_json:
        for lead in found:
            echo_json(lead.as_dict())
        return
    _echo_table(workspace, found)


def _echo_table(workspace: str, found: Iterable[LeadView]) -> None:
    """A line per lead (id, version, creation time, key), under a header."""
    header = False
    for lead in found:
        if not header:
            click.echo(f"{'lead_id':<36}  {'version':>7}  {'created (UTC)':<19}  key")
            header = True
        created = lead.created_at.strftime("%Y-%m-%d %H:%M:%S") if lead.created_at else "-"
        click.echo(f"{lead.lead_id}  {lead.version:>7}  {created:<19}  {_plain(lead.key)}")
    if not header:
        click.echo(f"no leads in workspace {workspace!r}")


def _plain(text: str) -> str:
    """``text`` fit for one line of a table: as is if printable, else its repr;
    shortened if long."""
    return shown(text if text.isprintable() else repr(text), quoted=False)


@leads.command("export")
@workspace_option
@store_option
@click.option(
    "--format",
    "form",
    type=click.Choice(["jsonl", "csv"]),
    default="jsonl",
    show_default=True,
    help="jsonl: a JSON object per lead; csv: lead_id, key, version, then every field.",
)
@click.option(
    "--output",
    "-o",
    metavar="FILE",
    help="Write to FILE (replaced only once the export is complete) instead of stdout.",
)
@click.pass_context
def export(ctx: click.Context, workspace: str, form: str, output: str | None) -> None:
    """Export every lead of the workspace, oldest first, streamed (in constant memory).
    CSV values other than text (tags, numbers) are JSON text.  While stderr is a
    terminal, a progress line shows there."""
    app = open_app(ctx, read_only=True)
    info = app.workspace_info(workspace)
    found = _progress(app.leads(workspace, newest_first=False), info.leads)
    try:
        with _destination(output) as out:
            if form == "csv":
                count = _write_csv(out, list(info.config.fields), found)
            else:
                count = _write_jsonl(out, found)
    except BrokenPipeError:
        raise  # (the reader of stdout went away: the root group stops quietly)
    except OSError as error:
        raise CliError(f"cannot write {shown(output)}: {error.strerror or error}") from error
    if output is not None:
        click.echo(f"Exported {count} leads of workspace {workspace!r} to {output} ({form}).")


@contextmanager
def _destination(output: str | None) -> Iterator[IO[str]]:
    """stdout, or a new file that becomes ``output`` once the block completes (if it
    fails, ``output`` is left as it was)."""
    if output is None:
        yield sys.stdout
        return
    folder, name = os.path.split(os.path.abspath(output))
    partial = os.path.join(folder, f".{name}.{secrets.token_hex(4)}.partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with open(descriptor, "w", encoding="utf-8", newline="") as out:
            yield out
        os.replace(partial, output)
    finally:
        if os.path.lexists(partial):
            os.unlink(partial)


def _write_jsonl(out: IO[str], found: Iterable[LeadView]) -> int:
    """A line of JSON per lead (as ``leads list --json``); how many."""
    count = 0
    for lead in found:
        out.write(json.dumps(lead.as_dict(), ensure_ascii=False) + "\n")
        count += 1
    return count


def _write_csv(out: IO[str], fields: list[str], found: Iterable[LeadView]) -> int:
    """A header, then a row per lead: :data:`CSV_COLUMNS`, then ``fields``; how many."""
    writer = csv.writer(out)
    writer.writerow([*CSV_COLUMNS, *fields])
    count = 0
    for lead in found:
        values = [_csv_value(lead.fields.get(name)) for name in fields]
        writer.writerow([str(lead.lead_id), lead.key, lead.version, *values])
        count += 1
    return count


def _csv_value(value: Any) -> str:
    """A field's value in a CSV cell: text as is, nothing as an empty cell, anything
    else (lists, objects, numbers) as JSON text."""
    if value is None or isinstance(value, str):
        return value or ""
    return json.dumps(value, ensure_ascii=False)


def _progress(found: Iterator[LeadView], total: int) -> Iterator[LeadView]:
    """``found``, with a progress line on stderr if it is a terminal."""
    if not _stderr_is_terminal():
        yield from found
        return
    count = 0
    for count, lead in enumerate(found, start=1):
        if count % PROGRESS_EVERY == 0:
            click.echo(f"\rexported {count:,} of {total:,} leads", nl=False, err=True)
        yield lead
    click.echo(f"\rexported {count:,} of {total:,} leads", err=True)


def _stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


@main.group()
def lead() -> None:
    """Show one lead."""


@lead.command("show")
@click.argument("lead_id", metavar="LEAD_ID")
@store_option
@json_option
@click.pass_context
def show(ctx: click.Context, lead_id: str, as_json: bool) -> None:
    """Show a lead as it is now (its fields and the key it was created with) and every
    decision that shaped it, oldest first, with its log position.  Lead ids are global:
    no workspace is needed."""
    app = open_app(ctx, read_only=True)
    try:
        found, history = app.lead(lead_id), app.explain_lead(lead_id)
    except UnknownLead:
        raise CliError(f"no lead {shown(lead_id)}") from None
    if as_json:
        echo_json({**found.as_dict(), "decisions": [item.as_dict() for item in history]})
        return
    _echo_lead(found)
    click.echo("decisions")
    for item in history:
        echo_explained(item, indent="  ")


def _echo_lead(found: LeadView) -> None:
    """The lead's id, key, version, creation time, then a line per field."""
    click.echo(f"lead_id  {found.lead_id}")
    click.echo(f"key      {found.key}")
    click.echo(f"version  {found.version}")
    if found.created_at is not None:
        click.echo(f"created  {found.created_at.isoformat()}")
    click.echo("fields")
    width = max((len(api) for api in found.fields), default=0)
    for api, stored in found.fields.items():
        text = stored if isinstance(stored, str) else json.dumps(stored, ensure_ascii=False)
        click.echo(f"  {api:<{width}}  {text}")
