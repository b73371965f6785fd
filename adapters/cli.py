"""The ``leadkey`` console command: a thin adapter over :class:`Leadkey`.

Every command opens the store named by ``--store`` (or ``LEADKEY_STORE``, else
``sqlite:///leadkey.db`` in the current directory), does one thing through the
application service, and closes it.  Expected failures print one ``error: ...``
line on stderr and exit with status 2; a lookup that finds nothing exits with 1.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import sqlite3
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import IO, Any, NoReturn, TypeVar
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

import click
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import InfrastructureFactoryError, PersistenceError

from leadkey.domain.decisions import Decision, Outcome
from leadkey.domain.field_types import STANDARD_FIELDS
from leadkey.domain.workspace import ConfigurationError, check_country
from leadkey.projections import audit
from leadkey.projections.identifier_index import Collision, RebuildReport, WorkspaceIndex
from leadkey.projections.what_if import (
    Merge,
    PayloadChange,
    Split,
    Switch,
    WhatIfError,
    WhatIfReport,
    what_if,
)

from .application import (
    ConcurrencyError,
    Leadkey,
    Submission,
    UnknownWorkspace,
    UnusableLookup,
    WorkspaceNotCreatedYet,
)
from .lookahead import replay_with_workers
from .stores import DEFAULT_STORE, StoreError, sqlite_file

#: The workspace used when ``--workspace`` is not given.  The commands that record in a
#: workspace (``ingest``, ``field add``, ``identifier set``, ``country set``) create it on
#: first use; the others only read, and report that it does not exist yet.
DEFAULT_WORKSPACE = "default"
#: How the default workspace is created on first use.
DEFAULT_WORKSPACE_SETTINGS = {"country": "IN", "identifier": "phone"}
#: How many items a human-readable list shows before pointing at ``--json``.
LIST_LIMIT = 20
#: Set to 1 to let unexpected exceptions through with their traceback.
DEBUG_ENV = "LEADKEY_DEBUG"

_T = TypeVar("_T")


class CliError(click.ClickException):
    """An expected failure: one ``error: ...`` line on stderr, exit status 2."""

    exit_code = 2

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.format_message()}", file=file, err=file is None)


class _LeadkeyGroup(click.Group):
    """The root group: turns the core's expected exceptions into :class:`CliError`."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["prog_name"] = kwargs.get("prog_name") or "leadkey"
        return super().main(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:
            _silence_stdout()  # the reader went away (e.g. `| head`): stop quietly
            raise click.exceptions.Exit(141) from None
        except WorkspaceNotCreatedYet as error:
            raise CliError(str(error)) from error
        except UnknownWorkspace as error:
            store = ctx.obj.store if isinstance(ctx.obj, _State) else "?"
            raise CliError(_unknown_workspace(error, store)) from error
        except (ConfigurationError, StoreError, ConcurrencyError, audit.PositionError) as error:
            raise CliError(str(error)) from error
        except (PersistenceError, sqlite3.Error) as error:
            store = ctx.obj.store if isinstance(ctx.obj, _State) else "?"
            raise CliError(f"store {_redacted(store)}: {error}") from error
        except Exception as error:
            if os.environ.get(DEBUG_ENV):
                raise
            raise CliError(
                f"unexpected {type(error).__name__}: {error} (set {DEBUG_ENV}=1 for a traceback)"
            ) from error


def _unknown_workspace(error: UnknownWorkspace, store: str) -> str:
    """Why there is no such workspace, and how to make one (when one can be made)."""
    name = error.name
    if error.invalid is not None:
        why = f"no workspace can have that name ({error.invalid})"
        return f"unknown workspace {_shown(name)}: {why}"
    # after "--", a name that starts with "-" is not taken for an option
    command = f"leadkey workspace create {'-- ' if name.startswith('-') else ''}{shlex.quote(name)}"
    if name == DEFAULT_WORKSPACE:
        return (
            f"unknown workspace {name!r} in {_redacted(store)}: the first ingest, field add, "
            f"identifier set or country set creates it "
            f"({_settings_text(**DEFAULT_WORKSPACE_SETTINGS)}); or create it with: {command}"
        )
    return f"unknown workspace {name!r} (create it with: {command})"


def _settings_text(country: str, identifier: str) -> str:
    """``country IN, identifier phone``: a workspace's settings, in words."""
    return f"country {country}, identifier {identifier}"


def _shown(value: object, width: int = 60, *, quoted: bool = True) -> str:
    """``repr(value)`` (``value`` itself if not ``quoted``), shortened when it is longer
    than ``width``: the start of it, then how long it is."""
    text = repr(value) if quoted else str(value)
    if len(text) <= width:
        return text
    if quoted and isinstance(value, str):
        return f"{value[: width - 25]!r}... ({len(value):,} characters)"
    return f"{text[: width - 25]}... ({len(text):,} characters)"


def _redacted(url: str) -> str:
    """``url`` without its password, fit to print."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (e.g. under a test runner)


class _State:
    """The store URL, and the application once a command opens it."""

    def __init__(self, store: str) -> None:
        self.store = store
        self._app: Leadkey | None = None

    def app(self, *, read_only: bool = False) -> Leadkey:
        """The application; ``read_only`` for a command that records nothing (a SQLite
        file is then opened read-only, and not created: a missing one is an error)."""
        if self._app is None:
            if read_only:
                _check_store_file(self.store)
            try:
                self._app = Leadkey(self.store, read_only=read_only)
            except (ImportError, InfrastructureFactoryError) as error:
                raise CliError(_cannot_open(self.store, error)) from error
        return self._app

    def close(self) -> None:
        if self._app is not None:
            app, self._app = self._app, None
            app.close()


def _check_store_file(store: str) -> None:
    """Raise a CliError if ``store`` names a SQLite file that does not exist (in a folder
    that does): a command that only reads would find nothing there, whatever it asks."""
    path = sqlite_file(store)
    if path and os.path.isdir(os.path.dirname(path) or ".") and not os.path.lexists(path):
        raise CliError(f"no store at {path} yet: ingest or workspace create makes it")


def _cannot_open(store: str, error: Exception) -> str:
    """Why ``store`` cannot be opened: ``error`` is an ImportError, or wraps one (the
    store's driver is missing), or is eventsourcing's error about its settings."""
    cause: BaseException | None = error
    while cause is not None and not isinstance(cause, ImportError):
        cause = cause.__cause__ or cause.__context__
    if cause is None:
        return f"cannot open store {_redacted(store)}: {error}"
    return (
        f"cannot open store {_redacted(store)}: {cause} "
        "(PostgreSQL needs: pip install 'leadkey[postgres]')"
    )


def _app(ctx: click.Context, *, read_only: bool = False) -> Leadkey:
    return ctx.find_object(_State).app(read_only=read_only)


class _Position(click.ParamType):
    """A log position: an integer from 0 to ``MAX_POSITION``; anything else is a CliError."""

    name = "position"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        option = f"{param.opts[0]}: " if param is not None and param.opts else ""
        text = str(value)
        digits = text.removeprefix("-")  # "-1" is out of range, said as such
        if isinstance(value, int):
            number = value
        elif not (digits.isascii() and digits.isdigit()):  # only 0-9: no "+", " ", "_", "５"
            raise CliError(
                f"{option}{_shown(text, 30)} is not a log position "
                f"(an integer from 0 to {audit.MAX_POSITION})"
            )
        elif len(digits.lstrip("0")) > len(str(audit.MAX_POSITION)):
            raise CliError(
                f"{option}position {_shown(text, 40, quoted=False)} is out of range: "
                f"log positions are 0 to {audit.MAX_POSITION}"
            )
        else:
            number = int(text)
        try:
            return audit.check_position(number)
        except audit.PositionError as error:
            raise CliError(f"{option}{error}") from None


POSITION = _Position()


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, default=str))


workspace_option = click.option(
    "--workspace",
    "-w",
    default=DEFAULT_WORKSPACE,
    show_default=True,
    metavar="NAME",
    help="The workspace to use.",
)


def _set_store(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.find_object(_State).store = value


store_option = click.option(
    "--store",
    metavar="URL",
    expose_value=False,
    callback=_set_store,
    help="Event store URL (overrides the one given before the command).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
dry_run_option = click.option(
    "--dry-run", is_flag=True, help="Report what the change would do; record nothing."
)


@click.group(name="leadkey", cls=_LeadkeyGroup)
@click.option(
    "--store",
    envvar="LEADKEY_STORE",
    default=DEFAULT_STORE,
    show_default=True,
    metavar="URL",
    help="Event store: sqlite:///file.db, sqlite:////abs/file.db, "
    "postgresql://user:pw@host/db or memory: (env LEADKEY_STORE).",
)
@click.version_option(package_name="leadkey")
@click.pass_context
def main(ctx: click.Context, store: str) -> None:
    """Match lead payloads to leads by their identifier, with every decision recorded."""
    state = _State(store)
    ctx.obj = state
    ctx.call_on_close(state.close)


# -- workspaces -------------------------------------------------------------------


def _workspace_dict(index: WorkspaceIndex) -> dict[str, Any]:
    config = index.config
    return {
        "workspace": config.name,
        "workspace_id": str(config.workspace_id),
        "country": config.country,
        "timezone": config.timezone,
        "identifier": config.identifier,
        "identifier_type": str(config.identifier_type),
        "generation": config.generation,
        "fields": {api: str(t) for api, t in config.fields.items()},
        "leads": len(index.versions),
        "indexed": len(index.index),
    }


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
        raise CliError(f"bad field spec {_shown(spec)}: use API_NAME:TYPE, e.g. rating:rating")
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
            raise CliError(f"field {_shown(api_name)} is given twice")
        fields[api_name] = field_type
    index = _app(ctx).create_workspace(
        name, country=country, identifier=identifier, timezone=timezone, fields=fields
    )
    data = _workspace_dict(index)
    if as_json:
        _echo_json(data)
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
    data = _workspace_dict(_app(ctx, read_only=True).workspace(workspace))
    if as_json:
        _echo_json(data)
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
    app = _app(ctx)
    if api_name in STANDARD_FIELDS:  # as add_field says it, in a new workspace too
        standard = STANDARD_FIELDS[api_name]
        raise CliError(f"field {api_name!r} already exists (type {standard})")
    if not _ensure_workspace(app, workspace, fields={api_name: field_type}):
        app.add_field(workspace, api_name, field_type)
    click.echo(f"Added field {api_name!r} ({field_type}) to workspace {workspace!r}.")


# -- ingest -----------------------------------------------------------------------


class _Lines:
    """Non-blank lines of a JSON Lines input, read as a stream, as Submissions.

    ``pending`` holds the line number of every Submission handed out and not yet
    matched with its decision (the application yields decisions in order).
    """

    def __init__(self, stream: IO[bytes], name: str) -> None:
        self.stream = stream
        self.name = name
        #: The file name as Unicode text (undecodable bytes of it escaped), for the record.
        self.source_name = os.fsencode(name).decode("utf-8", errors="backslashreplace")
        self.pending: deque[int] = deque()
        self.bytes_read = 0

    def __iter__(self) -> Iterator[Submission]:
        number = 0
        while True:
            try:
                raw = self.stream.readline()
            except OSError as error:
                raise CliError(f"cannot read {self.name}: {error.strerror or error}") from error
            if not raw:
                return
            number += 1
            self.bytes_read += len(raw)
            line = raw.removesuffix(b"\n").removesuffix(b"\r")
            if number == 1:
                line = line.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte order mark
            if not line.strip():
                continue
            self.pending.append(number)
            # bytes: a line that is not UTF-8 is recorded escaped and dropped as malformed
            yield Submission(line, source={"file": self.source_name, "line": number})


class _Progress:
    """A counter on stderr, only when stderr is a terminal."""

    def __init__(self, total_bytes: int | None) -> None:
        self.enabled = sys.stderr.isatty()
        self.total = total_bytes
        self.last = 0.0

    def update(self, count: int, bytes_read: int) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.last < 0.1:
            return
        self.last = now
        share = f" ({100 * bytes_read // self.total}%)" if self.total else ""
        click.echo(f"\r{count:,} decisions recorded{share}", nl=False, err=True)

    def done(self) -> None:
        if self.enabled and self.last:
            click.echo("\r\x1b[K", nl=False, err=True)


def _open_input(path: str) -> tuple[IO[bytes], str, int | None]:
    if path == "-":
        return click.open_file("-", "rb"), "-", None
    try:
        if os.path.isdir(path):
            raise IsADirectoryError(21, "is a directory")
        stream = open(path, "rb")  # noqa: SIM115 - closed by the caller
    except OSError as error:
        raise CliError(f"cannot read {path}: {error.strerror or error}") from error
    try:
        size = os.fstat(stream.fileno()).st_size or None
    except OSError:
        size = None
    return stream, path, size


def _ensure_workspace(app: Leadkey, name: str, **settings: Any) -> bool:
    """Create the workspace ``name`` if it is the default one and does not exist yet (an
    other one must exist): with the default settings, but for ``settings`` (the ones of
    ``create_workspace``), so that a command that records a setting creates the workspace
    with it, checked as one step: a refused setting records nothing.  True if this
    created the workspace (then with ``settings``), False if it existed."""
    try:
        app.check_workspace(name)
        return False
    except UnknownWorkspace:
        if name != DEFAULT_WORKSPACE:
            raise
    try:
        index = app.create_workspace(name, **{**DEFAULT_WORKSPACE_SETTINGS, **settings})
    except ConfigurationError as refused:
        try:
            app.check_workspace(name)  # created meanwhile by another process: fine
        except UnknownWorkspace:
            raise refused from None  # the settings are refused: nothing is recorded
        return False
    settings_text = _settings_text(index.config.country, index.config.identifier)
    click.echo(f"leadkey: created workspace {name!r} ({settings_text})", err=True)
    return True


class _Tally:
    """Counts for the human-readable ingest summary."""

    def __init__(self) -> None:
        self.outcomes: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()
        self.ignored: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        self.with_actions = 0

    def add(self, decision: Decision) -> None:
        self.outcomes[str(decision.outcome)] += 1
        if decision.reason is not None:
            self.reasons[str(decision.reason)] += 1
        self.ignored.update(
            api for api, why in decision.ignored.items() if why.startswith("not a field")
        )
        self.rejected.update(decision.rejected.keys())
        self.with_actions += "actions" in decision.ignored

    @property
    def total(self) -> int:
        return sum(self.outcomes.values())


def _echo_summary(tally: _Tally, workspace: str, source: str, store: str) -> None:
    if not tally.total:
        click.echo(f"No payloads in {source} (no non-blank lines).")
        return
    click.echo(f"Ingested {tally.total} payloads from {source} into workspace {workspace!r}:")
    digits = len(str(tally.total))
    for outcome in Outcome:
        click.echo(f"  {outcome:<8} {tally.outcomes[outcome]:>{digits}}")
    width = max((len(reason) for reason in tally.reasons), default=0)
    for reason, count in sorted(tally.reasons.items(), key=lambda item: (-item[1], item[0])):
        click.echo(f"    {reason:<{width}}  {count:>{digits}}")
    if tally.rejected:
        listed = _counted(tally.rejected)
        click.echo(f"Values rejected by their field type (the rest applied): {listed}")
    if tally.ignored:
        click.echo(f"Ignored, not fields of {workspace!r}: {_counted(tally.ignored)}")
        click.echo("  (define one with: leadkey field add API_NAME TYPE)")
    if tally.with_actions:
        click.echo(
            f"Actions kept in the record, not applied (no lead timelines yet): "
            f"{tally.with_actions} payload(s)"
        )
    click.echo(
        f"All {tally.total} decisions are durably recorded in {store} (--json shows each one)."
    )


def _counted(counts: Counter[str]) -> str:
    """``name (count)``, most counted first, the first ``LIST_LIMIT`` of them."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    listed = ", ".join(f"{_shown(api, 40, quoted=False)} ({n})" for api, n in ranked[:LIST_LIMIT])
    more = len(ranked) - LIST_LIMIT
    return listed + (f", ... and {more} more (--json shows each payload's)" if more > 0 else "")


@main.command()
@click.argument("file", default="-", metavar="[FILE|-]")
@workspace_option
@store_option
@json_option
@click.option(
    "--batch-size",
    default=1000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Payloads decided and committed together.",
)
@click.option(
    "--workers",
    default=0,
    show_default=True,
    type=click.IntRange(min=0),
    help="Extra processes that parse and normalize payloads ahead (for large inputs).",
)
@click.pass_context
def ingest(
    ctx: click.Context, file: str, workspace: str, as_json: bool, batch_size: int, workers: int
) -> None:
    """Create or update leads from FILE, JSON Lines of Async API bodies
    ({"fields": {...}, "actions": [...]}); "-" (the default) reads stdin.

    Each non-blank line gets a decision (created, updated or dropped with a
    reason), recorded before it is reported.  The workspace "default" (country IN,
    identifier phone) is created on first use.  Ctrl-C or SIGTERM stops it and says
    what is recorded (exit status 130 or 143).
    """
    state = ctx.find_object(_State)
    stream, name, size = _open_input(file)
    try:
        app = state.app()
        _ensure_workspace(app, workspace)
        if name == "-" and stream.isatty():
            click.echo("leadkey: reading JSON Lines from the terminal (end with Ctrl-D)", err=True)
        lines = _Lines(stream, name)
        tally = _ingest(ctx, app, workspace, lines, size, as_json, batch_size, workers)
    finally:
        if name != "-":
            stream.close()
    if not as_json:
        _echo_summary(tally, workspace, "stdin" if name == "-" else name, _redacted(state.store))


def _ingest(
    ctx: click.Context,
    app: Leadkey,
    workspace: str,
    lines: _Lines,
    size: int | None,
    as_json: bool,
    batch_size: int,
    workers: int,
) -> _Tally:
    tally = _Tally()
    progress = _Progress(None if as_json else size)
    progress.enabled = progress.enabled and not as_json
    last_line = 0
    try:
        with _terminate_interrupts():
            decisions = app.ingest_many(workspace, lines, batch_size=batch_size, workers=workers)
            for decision in decisions:
                last_line = lines.pending.popleft()
                tally.add(decision)
                if as_json:
                    _echo_json({"line": last_line, **decision.as_dict()})
                else:
                    progress.update(tally.total, lines.bytes_read)
    except KeyboardInterrupt as interrupt:
        progress.done()
        click.echo(
            f"interrupted: the {tally.total} decisions reported (input lines up to "
            f"{last_line}) are recorded; the batch in progress may or may not be",
            err=True,
        )
        ctx.exit(128 + signal.SIGTERM if isinstance(interrupt, _Terminated) else 130)
    progress.done()
    return tally


class _Terminated(KeyboardInterrupt):
    """SIGTERM, taken like Ctrl-C."""


def _raise_terminated(_signum: int, _frame: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends it at once
    raise _Terminated


@contextmanager
def _terminate_interrupts() -> Iterator[None]:
    """While the block runs, SIGTERM raises :class:`_Terminated` (a KeyboardInterrupt)."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):  # as Python does for SIGINT: an inherited SIG_IGN (or a handler) is left alone
        yield
        return
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


# -- identifier and country -------------------------------------------------------


def _listed(ids: Any) -> str:
    shown = [str(i) for i in list(ids)[:LIST_LIMIT]]
    more = len(ids) - len(shown)
    return ", ".join(shown) + (f", ... and {more} more (--json lists all)" if more else "")


def _echo_capped(items: Sequence[_T], show: Callable[[_T], str], indent: str) -> None:
    """One line per item, the first ``LIST_LIMIT`` of them, then how many are left out."""
    for item in items[:LIST_LIMIT]:
        click.echo(f"{indent}{show(item)}")
    if len(items) > LIST_LIMIT:
        click.echo(f"{indent}... and {len(items) - LIST_LIMIT} more (--json lists all)")


def _collision(collision: Collision) -> str:
    return (
        f"key {collision.key}: matches {collision.winner} (created first); "
        f"not matched: {_listed(collision.others)}"
    )


def _echo_report(report: RebuildReport, dry_run: bool, change: str) -> None:
    if dry_run:
        click.echo(f"Dry run, nothing recorded. {change} would give:")
    else:
        click.echo(f"Recorded. {change} gives:")
    click.echo(f"  workspace    {report.workspace}")
    click.echo(f"  identifier   {report.identifier} ({report.identifier_type})")
    click.echo(f"  generation   {report.generation}")
    click.echo(f"  leads        {report.leads}")
    click.echo(f"  indexed      {report.indexed}")
    click.echo(f"  unreachable  {len(report.unreachable)}")
    if report.unreachable:
        click.echo(
            f"    no usable {report.identifier} value, so no payload can match them: "
            f"{_listed(report.unreachable)}"
        )
    click.echo(f"  collisions   {len(report.collisions)}")
    _echo_capped(report.collisions, _collision, "    ")


def _reconfigure(
    ctx: click.Context,
    workspace: str,
    setting: Switch,
    dry_run: bool,
    as_json: bool,
    what_if_from: int | None,
) -> None:
    """Change (or with ``dry_run`` plan) the identifier or country ``setting`` names, and
    report the rebuild; with ``what_if_from``, also the what-if of the change from then."""
    if what_if_from is not None and not dry_run:
        raise CliError("--what-if-from needs --dry-run (a what-if records nothing)")
    app = _app(ctx, read_only=dry_run)
    created = not dry_run and _ensure_workspace(app, workspace, **_settings(setting))
    change = _change_text(setting)
    if created:  # with the setting: its index is built by it already
        report = app.workspace(workspace).report
    else:
        report = _change(app, workspace, setting, dry_run)
    hypothetical = (
        None
        if what_if_from is None
        else _what_if(app, workspace, replace(setting, position=what_if_from))
    )
    if as_json:
        rebuild = {**report.as_dict(), "dry_run": dry_run}
        _echo_json(
            rebuild
            if hypothetical is None
            else {"rebuild": rebuild, "what_if": hypothetical.as_dict()}
        )
        return
    _echo_report(report, dry_run, change)
    if hypothetical is not None:
        click.echo()
        _echo_what_if(hypothetical)


def _settings(setting: Switch) -> dict[str, str]:
    """The settings ``setting`` changes, as ``create_workspace`` takes them."""
    pairs = (("identifier", setting.identifier), ("country", setting.country))
    return {name: value for name, value in pairs if value is not None}


def _change_text(setting: Switch) -> str:
    """The change ``setting`` names, in words."""
    if setting.identifier is not None:
        return f"Identifier {setting.identifier!r}"
    return f"Default country {setting.country!r}"


def _change(app: Leadkey, workspace: str, setting: Switch, dry_run: bool) -> RebuildReport:
    """Make (or with ``dry_run`` plan) the change ``setting`` names: its rebuild report."""
    if setting.identifier is not None:
        return app.change_identifier(workspace, setting.identifier, dry_run=dry_run)
    assert setting.country is not None  # the switch of `country set`
    return app.change_country(workspace, setting.country, dry_run=dry_run)


what_if_from_option = click.option(
    "--what-if-from",
    type=POSITION,
    metavar="POSITION",
    help="With --dry-run: also replay the log as if the change had been made just before "
    "this log position (0: at the workspace's creation); see: leadkey what-if --help.",
)


@main.group()
def identifier() -> None:
    """Change the lead identifier field."""


@identifier.command("set")
@click.argument("field")
@workspace_option
@store_option
@dry_run_option
@what_if_from_option
@json_option
@click.pass_context
def identifier_set(
    ctx: click.Context,
    field: str,
    workspace: str,
    dry_run: bool,
    what_if_from: int | None,
    as_json: bool,
) -> None:
    """Make FIELD the lead identifier and rebuild the identifier index."""
    _reconfigure(ctx, workspace, Switch(identifier=field), dry_run, as_json, what_if_from)


@main.group()
def country() -> None:
    """Change the default country for phone numbers."""


@country.command("set")
@click.argument("country_code", metavar="CC")
@workspace_option
@store_option
@dry_run_option
@what_if_from_option
@json_option
@click.pass_context
def country_set(
    ctx: click.Context,
    country_code: str,
    workspace: str,
    dry_run: bool,
    what_if_from: int | None,
    as_json: bool,
) -> None:
    """Make CC (ISO 3166 alpha-2, any case) the default country and rebuild the index."""
    country_code = check_country(country_code)  # in upper case, or a ConfigurationError
    _reconfigure(ctx, workspace, Switch(country=country_code), dry_run, as_json, what_if_from)


# -- lookup -----------------------------------------------------------------------


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
        found = _app(ctx, read_only=True).find(workspace, value, at=at)
    except UnusableLookup as error:
        config = error.config
        kind = str(config.identifier_type)
        raise CliError(
            f"cannot look up {_shown(value)}{as_of} as {_article(kind)} {kind} "
            f"({config.identifier}): {error.reason}"
        ) from error
    lead = found.lead
    if lead is None:
        _not_found(
            f"no lead matches {_shown(value)} in workspace {workspace!r}{as_of} "
            f"(key {_shown(found.key, quoted=False)}, identifier {found.config.identifier})"
        )
    if as_json:
        _echo_json(lead.as_dict())
        return
    click.echo(f"lead_id  {lead.lead_id}")
    click.echo(f"key      {lead.key}")
    click.echo("fields")
    width = max((len(api) for api in lead.fields), default=0)
    for api, stored in lead.fields.items():
        shown = stored if isinstance(stored, str) else json.dumps(stored, ensure_ascii=False)
        click.echo(f"  {api:<{width}}  {shown}")


def _article(word: str) -> str:
    return "an" if word[:1].lower() in ("a", "e", "i", "o", "u") else "a"


def _not_found(message: str) -> NoReturn:
    click.echo(message, err=True)
    raise click.exceptions.Exit(1)


# -- audit ------------------------------------------------------------------------


@main.command()
@workspace_option
@store_option
@click.option("--lead", "lead_id", metavar="LEAD_ID", help="Every decision about this lead.")
@click.option(
    "--position", type=POSITION, metavar="POSITION", help="The decision at this position."
)
@click.option("--line", type=click.IntRange(min=1), help="The decision(s) for this input line.")
@click.option("--file", "file_name", metavar="FILE", help="With --line: only lines of FILE.")
@json_option
@click.pass_context
def explain(
    ctx: click.Context,
    workspace: str,
    lead_id: str | None,
    position: int | None,
    line: int | None,
    file_name: str | None,
    as_json: bool,
) -> None:
    """Explain why payloads created, updated or were dropped: for a lead, a log
    position, or an input line (of the workspace: lead ids and positions are global,
    so --workspace only applies to --line)."""
    if sum(x is not None for x in (lead_id, position, line)) != 1:
        raise CliError("give exactly one of --lead, --position or --line")
    app = _app(ctx, read_only=True)
    if lead_id is not None:
        try:
            history = audit.explain_lead(app, UUID(lead_id))
        except (ValueError, AggregateNotFoundError):
            raise CliError(f"no lead {_shown(lead_id)}") from None
    else:
        if position is None:
            app.check_workspace(workspace)
        positions = (
            [position]
            if position is not None
            else audit.positions_of_line(app, workspace, line or 0, file_name)
        )
        found = [audit.explain_position(app, p) for p in positions]
        history = [item for item in found if item is not None]
        if not history:
            where = f"line {line}" if position is None else f"position {position}"
            _not_found(f"no decision at {where}")
    if as_json:
        for item in history:
            _echo_json(item.as_dict())
        return
    for item in history:
        known = item.position is not None
        where = f"position {item.position}" if known else f"at {item.recorded_at}"
        source = item.source or {}
        origin = f" (from {source.get('file')} line {source.get('line')})" if source else ""
        click.echo(f"{where}{origin}: {item.why()}")
        for field, (old, new) in item.changes.items():
            click.echo(f"    {field}: {old!r} -> {new!r}")
        if item.unchanged:
            click.echo(f"    unchanged: {', '.join(item.unchanged)}")
        for field, why in {**item.rejected, **item.ignored}.items():
            click.echo(f"    {field}: not applied, {why}")


until_option = click.option(
    "--until",
    type=POSITION,
    metavar="POSITION",
    help="Replay the log up to this position only.",
)


@main.command()
@workspace_option
@store_option
@click.option(
    "--verify",
    is_flag=True,
    help="Exit 1 if a decision is not re-derived (other than by an upgrade of leadkey's "
    "rules or libraries, which is reported).",
)
@click.option(
    "--exact", is_flag=True, help="Like --verify, but exit 1 on any divergence, upgrades too."
)
@until_option
@json_option
@click.option(
    "--workers",
    default=0,
    show_default=True,
    type=click.IntRange(0, 1),
    help="1: a process reads the log ahead and normalizes phones and emails (large logs).",
)
@click.pass_context
def replay(
    ctx: click.Context,
    workspace: str,
    verify: bool,
    until: int | None,
    as_json: bool,
    workers: int,
    exact: bool,
) -> None:
    """Replay the workspace's log and decide every recorded payload again, under the
    configuration and index in force just before it."""
    app = _app(ctx, read_only=True)
    app.check_workspace(workspace)  # an unknown workspace is an error, not an empty replay
    report = replay_with_workers(app, workspace, until=until, workers=workers)
    if as_json:
        _echo_json(report.as_dict())
    else:
        counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(report.decisions.items()))
        click.echo(
            f"Replayed workspace {workspace!r} up to position {report.position}: "
            f"{sum(report.decisions.values())} decisions ({counts or 'none'})."
        )
        for divergence in report.divergences[:LIST_LIMIT]:
            data = divergence.as_dict()
            click.echo(f"  position {data['position']}: {data['cause']}")
            for name, values in data["differences"].items():
                recorded, now = _shown(values["recorded"]), _shown(values["replayed"])
                click.echo(f"    {name}: recorded {recorded}, now {now}")
        if len(report.divergences) > LIST_LIMIT:
            click.echo(f"  ... and {len(report.divergences) - LIST_LIMIT} more (--json lists all)")
        _echo_divergence_kinds(report.kinds())
    if (exact and not report.exact) or (verify and not report.verified):  # --exact: --verify too
        raise click.exceptions.Exit(1)


#: How ``replay`` words each kind of divergence (see ``audit.Divergence.kind``).
_DIVERGENCE_KINDS = {
    "rules": "decision(s) were recorded under other leadkey rules, which decide them "
    "differently (an upgrade explains this; a replay cannot tell it from an altered record; "
    "what today's rules change: leadkey what-if, with no setting)",
    "versions": "decision(s) were recorded under other library versions, which decide them "
    "differently (an upgrade explains this; a replay cannot tell it from an altered record)",
    "log": "decision(s) are not re-derived.",
}


def _echo_divergence_kinds(kinds: dict[str, int]) -> None:
    if not kinds:
        click.echo("Every decision is re-derived from the log.")
    for kind, words in _DIVERGENCE_KINDS.items():
        if kinds.get(kind):
            click.echo(f"{kinds[kind]} {words}")


# -- what-if ----------------------------------------------------------------------


def _what_if(
    app: Leadkey, workspace: str, switch: Switch, until: int | None = None
) -> WhatIfReport:
    """The what-if of ``switch`` over ``workspace``'s log; a :class:`WhatIfError` is a CliError."""
    app.check_workspace(workspace)  # an unknown workspace gets the usual message
    try:
        return what_if(app, workspace, switch, until=until)
    except WhatIfError as error:
        raise CliError(str(error)) from error


def _switch_text(switch: Switch) -> str:
    settings = [
        f"{name} {value!r}"
        for name, value in (("identifier", switch.identifier), ("default country", switch.country))
        if value is not None
    ] or ["the log's settings and today's rules"]
    start = f"from position {switch.position}" if switch.position else "from the start"
    return f"{' and '.join(settings)} {start}"


def _source_text(source: dict[str, Any] | None) -> str:
    if not source:
        return ""
    if set(source) == {"file", "line"}:
        return f" ({source['file']}:{source['line']})"
    return f" ({', '.join(f'{key} {value}' for key, value in source.items())})"


def _change_line(change: PayloadChange) -> str:
    """``position P (file:line): updated lead A -> updated lead B (key K), the what-if of
    actual lead C``: one changed decision, in words."""
    actual = change.actual
    if change.actual_lead is not None:
        actual += f" lead {change.actual_lead}"
    if change.hypothetical_lead is None:
        hypothetical = f"{change.hypothetical} ({change.reason})"
    else:
        hypothetical = (
            f"{change.hypothetical} lead {change.hypothetical_lead} (key {change.hypothetical_key})"
        )
    if change.hypothetical == "updated" and change.counterpart not in (
        change.actual_lead,
        change.hypothetical_lead,
    ):
        hypothetical += (
            f", the what-if of actual lead {change.counterpart}"
            if change.counterpart
            else ", a lead only the what-if has"
        )
    return f"position {change.position}{_source_text(change.source)}: {actual} -> {hypothetical}"


def _echo_what_if_summary(report: WhatIfReport) -> None:
    summary = report.summary()
    click.echo(f"  payloads     {summary['payloads']} replayed")
    click.echo(f"  changed      {summary['decisions_changed']} decisions")
    width = max((len(kind) for kind in summary["changed"]), default=0)
    digits = len(str(summary["decisions_changed"]))
    for kind, count in summary["changed"].items():
        click.echo(f"    {kind:<{width}}  {count:>{digits}}")
    click.echo(f"  rekeyed      {summary['keys_changed']} (same decision, another key)")
    click.echo(
        f"  leads        {summary['actual_leads']} actual, {summary['what_if_leads']} what-if"
    )
    merged = f" ({summary['leads_merged']} actual leads merge)" if report.merges else ""
    click.echo(f"  merges       {summary['merges']}{merged}")
    click.echo(f"  splits       {summary['splits']}")
    click.echo(f"  unreachable  {summary['unreachable']} (no payload would match them any more)")
    click.echo(f"  not created  {summary['not_created']} (every payload of theirs dropped)")
    click.echo(f"  new leads    {summary['new_leads']}")
    for rebuild in report.rebuilds:
        click.echo(
            f"  rebuild      by {rebuild.identifier}, generation {rebuild.generation}: "
            f"{len(rebuild.unreachable)} unreachable, {len(rebuild.collisions)} collisions"
        )


def _echo_what_if_details(report: WhatIfReport) -> None:
    for rebuild in report.rebuilds:
        if rebuild.unreachable or rebuild.collisions:
            click.echo(f"Rebuild by {rebuild.identifier}, generation {rebuild.generation}:")
        if rebuild.unreachable:
            click.echo(f"  no usable {rebuild.identifier} value: {_listed(rebuild.unreachable)}")
        _echo_capped(rebuild.collisions, _collision, "  ")
    sections: list[tuple[str, Sequence[Any], Callable[[Any], str]]] = [
        ("Changed decisions (actual -> what-if):", report.changes, _change_line),
        ("Merges (what-if lead <- actual leads):", report.merges, _merge_line),
        ("Splits (actual lead -> what-if leads):", report.splits, _split_line),
        ("Unreachable (no payload would match them):", report.unreachable, str),
        ("Not created (every payload dropped):", report.not_created, str),
    ]
    for title, items, show in sections:
        if items:
            click.echo(title)
            _echo_capped(items, show, "  ")


def _merge_line(merge: Merge) -> str:
    return f"{merge.lead} <- {_listed(merge.actual_leads)}"


def _split_line(split: Split) -> str:
    dropped = f"; {split.dropped} payload(s) dropped" if split.dropped else ""
    return f"{split.actual_lead} -> {_listed(split.leads)}{dropped}"


def _echo_what_if(report: WhatIfReport) -> None:
    """Summary counts first, then the details, each list capped at ``LIST_LIMIT``."""
    switches = "; ".join(_switch_text(switch) for switch in report.switches)
    click.echo(
        f"What-if, nothing recorded: workspace {report.workspace!r} with {switches}, "
        f"replayed up to position {report.position}:"
    )
    _echo_what_if_summary(report)
    _echo_what_if_details(report)
    if report.identical:
        click.echo("identical: the what-if decides every payload as recorded")


@main.command("what-if")
@workspace_option
@store_option
@click.option("--identifier", metavar="FIELD", help="The lead identifier field to try.")
@click.option("--country", metavar="CC", help="The default country to try (ISO 3166 alpha-2).")
@click.option(
    "--from",
    "from_position",
    default=0,
    show_default=True,
    type=POSITION,
    metavar="POSITION",
    help="Switch just before this log position (0: from the workspace's creation).",
)
@until_option
@json_option
@click.pass_context
def what_if_command(
    ctx: click.Context,
    workspace: str,
    identifier: str | None,
    country: str | None,
    from_position: int,
    until: int | None,
    as_json: bool,
) -> None:
    """Replay the workspace's recorded payloads as if --identifier and/or --country had
    been in force from --from on, and report which decisions and leads would differ
    (merges, splits, unreachable, not created); nothing is recorded.

    Payloads are decided with today's rules and libraries; with neither --identifier
    nor --country, the what-if shows just what those change for payloads recorded
    under older ones (the settings stay as the log has them).

    --json prints one object: workspace, switches, position, identical, summary
    (the counts), rebuilds, changes, merges, splits, unreachable, not_created, new_leads.
    """
    country = None if country is None else check_country(country)
    switch = Switch(identifier=identifier, country=country, position=from_position)
    report = _what_if(_app(ctx, read_only=True), workspace, switch, until)
    if as_json:
        _echo_json(report.as_dict())
    else:
        _echo_what_if(report)


if __name__ == "__main__":  # pragma: no cover
    main()
