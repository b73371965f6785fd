"""Shared parts of the CLI: the root group and its error handling, the store and
the application it opens, common options and output helpers."""

from __future__ import annotations

import json
import os
import shlex
import sqlite3
import sys
from collections.abc import Callable, Sequence
from typing import IO, TYPE_CHECKING, Any, NoReturn, TypeVar
from urllib.parse import urlsplit, urlunsplit

import click
from eventsourcing.persistence import PersistenceError

from leadkey.domain.errors import (
    InvalidConfiguration,
    LeadkeyError,
    StoreUnavailable,
    UnknownWorkspace,
)
from leadkey.projections import audit
from leadkey.projections.identifier_index import Collision

from ..application import (
    Leadkey,
    WorkspaceNotCreatedYet,
)
from ..stores import DEFAULT_STORE, sqlite_file

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
            store = ctx.obj.store if isinstance(ctx.obj, State) else "?"
            raise CliError(_unknown_workspace(error, store)) from error
        except (StoreUnavailable, PersistenceError, sqlite3.Error) as error:
            store = ctx.obj.store if isinstance(ctx.obj, State) else "?"
            reason = " ".join(str(error).split())  # (one line: drivers add hints on others)
            raise CliError(f"store {redacted(store)}: {reason}") from error
        except LeadkeyError as error:
            raise CliError(str(error)) from error
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
        return f"unknown workspace {shown(name)}: {why}"
    # after "--", a name that starts with "-" is not taken for an option
    command = f"leadkey workspace create {'-- ' if name.startswith('-') else ''}{shlex.quote(name)}"
    if name == DEFAULT_WORKSPACE:
        return (
            f"unknown workspace {name!r} in {redacted(store)}: the first ingest, field add, "
            f"identifier set or country set creates it "
            f"({_settings_text(**DEFAULT_WORKSPACE_SETTINGS)}); or create it with: {command}"
        )
    return f"unknown workspace {name!r} (create it with: {command})"


def _settings_text(country: str, identifier: str) -> str:
    """``country IN, identifier phone``: a workspace's settings, in words."""
    return f"country {country}, identifier {identifier}"


def shown(value: object, width: int = 60, *, quoted: bool = True) -> str:
    """``repr(value)`` (``value`` itself if not ``quoted``), shortened when it is longer
    than ``width``: the start of it, then how long it is."""
    text = repr(value) if quoted else str(value)
    if len(text) <= width:
        return text
    if quoted and isinstance(value, str):
        return f"{value[: width - 25]!r}... ({len(value):,} characters)"
    return f"{text[: width - 25]}... ({len(text):,} characters)"


def redacted(url: str) -> str:
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


class State:
    """The store URL, and the application once a command opens it."""

    def __init__(self, store: str) -> None:
        self.store = store
        self._app: Leadkey | None = None

    def app(self, *, read_only: bool = False) -> Leadkey:
        """The application; ``read_only`` for a command that records nothing (a SQLite
        file is then opened read-only, and not created: a missing one is an error)."""
        if self._app is None:
            if self.store in ("memory:", "memory://"):
                raise CliError(
                    "the memory: store lives inside one process: a command would start with "
                    "it empty and lose what it records at exit; use sqlite:///FILE or "
                    "postgresql://HOST/DB (memory: is for the Python API)"
                )
            if read_only:
                _check_store_file(self.store)
            self._app = Leadkey(self.store, read_only=read_only)
            for note in self._app.index_repairs:
                click.echo(f"leadkey: {note}", err=True)
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


def open_app(ctx: click.Context, *, read_only: bool = False) -> Leadkey:
    return state_of(ctx).app(read_only=read_only)


def state_of(ctx: click.Context) -> State:
    """The command's :class:`State` (the root group, :func:`main`, makes it)."""
    state = ctx.find_object(State)
    if state is None:
        raise RuntimeError("a leadkey command runs under the leadkey group, which makes its state")
    return state


if TYPE_CHECKING:  # (a generic class since click 8.4, which type checkers need)
    _IntParam = click.ParamType[int]
else:  # (earlier versions take no type argument at run time)
    _IntParam = click.ParamType


class _Position(_IntParam):
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
                f"{option}{shown(text, 30)} is not a log position "
                f"(an integer from 0 to {audit.MAX_POSITION})"
            )
        elif len(digits.lstrip("0")) > len(str(audit.MAX_POSITION)):
            raise CliError(
                f"{option}position {shown(text, 40, quoted=False)} is out of range: "
                f"log positions are 0 to {audit.MAX_POSITION}"
            )
        else:
            number = int(text)
        try:
            return audit.check_position(number)
        except audit.PositionError as error:
            raise CliError(f"{option}{error}") from None


POSITION = _Position()


def echo_json(data: Any) -> None:
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
        state_of(ctx).store = value


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
    help="Event store: sqlite:///file.db, sqlite:////abs/file.db or "
    "postgresql://user:pw@host/db[?schema=name] (env LEADKEY_STORE).",
)
@click.version_option(package_name="leadkey")
@click.pass_context
def main(ctx: click.Context, store: str) -> None:
    """Match lead payloads to leads by their identifier, with every decision recorded."""
    state = State(store)
    ctx.obj = state
    ctx.call_on_close(state.close)


def ensure_workspace(app: Leadkey, name: str, **settings: Any) -> bool:
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
    except InvalidConfiguration as refused:
        try:
            app.check_workspace(name)  # created meanwhile by another process: fine
        except UnknownWorkspace:
            raise refused from None  # the settings are refused: nothing is recorded
        return False
    settings_text = _settings_text(index.config.country, index.config.identifier)
    click.echo(f"leadkey: created workspace {name!r} ({settings_text})", err=True)
    return True


def listed(ids: Any) -> str:
    first = [str(i) for i in list(ids)[:LIST_LIMIT]]
    more = len(ids) - len(first)
    return ", ".join(first) + (f", ... and {more} more (--json lists all)" if more else "")


def echo_capped(items: Sequence[_T], show: Callable[[_T], str], indent: str) -> None:
    """One line per item, the first ``LIST_LIMIT`` of them, then how many are left out."""
    for item in items[:LIST_LIMIT]:
        click.echo(f"{indent}{show(item)}")
    if len(items) > LIST_LIMIT:
        click.echo(f"{indent}... and {len(items) - LIST_LIMIT} more (--json lists all)")


def collision_line(collision: Collision) -> str:
    return (
        f"key {collision.key}: matches {collision.winner} (created first); "
        f"not matched: {listed(collision.others)}"
    )


def not_found(message: str) -> NoReturn:
    click.echo(message, err=True)
    raise click.exceptions.Exit(1)


until_option = click.option(
    "--until",
    type=POSITION,
    metavar="POSITION",
    help="Replay the log up to this position only.",
)
