"""``ingest``: JSON Lines in, one recorded decision per non-blank line out."""

from __future__ import annotations

import hashlib
import os
import signal
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

import click

from leadkey.domain.decisions import Decision, Outcome

from ..application import Leadkey
from ..views import Submission
from .base import (
    LIST_LIMIT,
    CliError,
    echo_json,
    ensure_workspace,
    json_option,
    main,
    redacted,
    shown,
    state_of,
    store_option,
    workspace_option,
)


class _Lines:
    """Non-blank lines of a JSON Lines input, read as a stream, as Submissions.

    ``pending`` holds the line number of every Submission handed out and not yet
    matched with its decision (the application yields decisions in order).
    """

    def __init__(self, stream: IO[bytes], name: str, skip: int = 0) -> None:
        self.stream = stream
        self.name = name
        #: Payloads (non-blank lines) to pass over first: recorded by an earlier run.
        self.skip = skip
        #: The line number of the last of them.
        self.skipped_to = 0
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
            if self.skip:
                self.skip -= 1
                self.skipped_to = number
                continue
            self.pending.append(number)
            # bytes: a line that is not UTF-8 is recorded escaped and dropped as malformed
            yield Submission(line, source={"file": self.source_name, "line": number})


class _Progress:
    """A line on stderr, rewritten as decisions come, only when stderr is a terminal:
    decisions recorded (and the share of the input read), their rate, and how many
    created, updated and dropped."""

    def __init__(self, total_bytes: int | None) -> None:
        self.enabled = sys.stderr.isatty()
        self.total = total_bytes
        self.started = time.monotonic()
        self.last = 0.0

    def update(self, tally: _Tally, bytes_read: int) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.last < 0.1:
            return
        self.last = now
        count = tally.total
        share = f" ({100 * bytes_read // self.total}%)" if self.total else ""
        rate = count / max(now - self.started, 1e-9)
        outcomes = ", ".join(f"{tally.outcomes[o]:,} {o}" for o in Outcome)
        click.echo(
            f"\r{count:,} decisions recorded{share}, {rate:,.0f}/s: {outcomes}\x1b[K",
            nl=False,
            err=True,
        )

    def done(self) -> None:
        if self.enabled and self.last:
            click.echo("\r\x1b[K", nl=False, err=True)


def _input_id(path: str) -> str | None:
    """The id of a regular file's content (its SHA-256): the same content, wherever it
    lies, is the same input; other content, even under the same name, another one.
    None for stdin and other streams, which cannot be read twice."""
    if path == "-" or not os.path.isfile(path):
        return None
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
    except OSError as error:
        raise CliError(f"cannot read {path}: {error.strerror or error}") from error
    return f"sha256:{digest.hexdigest()}"


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
    listed = ", ".join(f"{shown(api, 40, quoted=False)} ({n})" for api, n in ranked[:LIST_LIMIT])
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
    "--again",
    is_flag=True,
    help="Record FILE's payloads even if an earlier run recorded them (as new ones).",
)
@click.pass_context
def ingest(
    ctx: click.Context,
    file: str,
    workspace: str,
    as_json: bool,
    batch_size: int,
    again: bool,
) -> None:
    """Create or update leads from FILE, JSON Lines of Async API bodies
    ({"fields": {...}, "actions": [...]}); "-" (the default) reads stdin.

    Each non-blank line gets a decision (created, updated or dropped with a
    reason), recorded before it is reported.  The workspace "default" (country IN,
    identifier phone) is created on first use.  Ctrl-C or SIGTERM stops it and says
    what is recorded (exit status 130 or 143).

    A file is recorded once: run again (after an interruption, a crash, or to be
    sure), it skips the payloads an earlier run of the same content recorded and
    records the rest.  Stdin is not tracked: each run records what it reads.
    """
    state = state_of(ctx)
    input_id = None if again else _input_id(file)
    stream, name, size = _open_input(file)
    try:
        app = state.app()
        ensure_workspace(app, workspace)
        if name == "-" and stream.isatty():
            click.echo("leadkey: reading JSON Lines from the terminal (end with Ctrl-D)", err=True)
        done = app.input_progress(workspace, input_id) if input_id else 0
        lines = _Lines(stream, name, skip=done)
        run = _Run(workspace, batch_size, input_id, done)
        tally = _ingest(ctx, app, run, lines, size, as_json)
    finally:
        if name != "-":
            stream.close()
    source = "stdin" if name == "-" else name
    if done and (tally.total or as_json):
        click.echo(
            f"leadkey: skipped {done} payloads (lines 1-{lines.skipped_to}) that an earlier "
            f"run recorded{'' if tally.total else ': nothing new'} (--again records them again)",
            err=True,
        )
    if as_json:
        return
    if done and not tally.total:
        click.echo(f"Nothing new: all {done} payloads of {source} were recorded by an earlier run.")
        return
    _echo_summary(tally, workspace, source, redacted(state.store))


@dataclass(frozen=True)
class _Run:
    """How an ingest runs: where to, in what batches, and what of the input is recorded."""

    workspace: str
    batch_size: int
    input_id: str | None
    done: int


def _ingest(
    ctx: click.Context, app: Leadkey, run: _Run, lines: _Lines, size: int | None, as_json: bool
) -> _Tally:
    tally = _Tally()
    progress = _Progress(None if as_json else size)
    progress.enabled = progress.enabled and not as_json
    last_line = 0
    try:
        with _terminate_interrupts():
            decisions = app.ingest_many(
                run.workspace,
                lines,
                batch_size=run.batch_size,
                input_id=run.input_id,
                start=run.done if run.input_id else None,
            )
            for decision in decisions:
                last_line = lines.pending.popleft()
                tally.add(decision)
                if as_json:
                    echo_json({"line": last_line, **decision.as_dict()})
                else:
                    progress.update(tally, lines.bytes_read)
    except KeyboardInterrupt as interrupt:
        progress.done()
        click.echo(
            f"interrupted: the {tally.total} decisions reported (input lines up to "
            f"{last_line}) are recorded; the batch in progress may or may not be",
            err=True,
        )
        ctx.exit(128 + signal.SIGTERM if isinstance(interrupt, _Terminated) else 130)
    except Exception:  # a full disk, a lost connection: the error follows this line
        progress.done()
        click.echo(
            f"stopped: the {tally.total} decisions reported (input lines up to {last_line}) "
            "are recorded; the batch in progress may or may not be",
            err=True,
        )
        raise
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
