"""Starting and stopping leadkey's worker processes."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from multiprocessing import get_context
from multiprocessing.process import BaseProcess
from typing import Any


def start_worker(target: Callable[..., None], *args: Any) -> BaseProcess:
    """Start ``target(*args)`` in a new (spawned) daemon process that ignores Ctrl-C:
    the calling process stops it, and an interrupt prints no traceback from it.

    Spawning imports the calling program's main module again in the worker: a script
    that starts workers must guard its top-level code with ``if __name__ == "__main__"``.
    """
    process = get_context("spawn").Process(target=target, args=args, daemon=True)
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main_thread else None
    try:  # the worker inherits the ignored interrupt from its first instruction on
        process.start()
    finally:
        if main_thread:
            signal.signal(signal.SIGINT, previous)
    return process


def stop_worker(process: BaseProcess, timeout: float) -> None:
    """Wait up to ``timeout`` seconds for ``process`` to end, then terminate it."""
    process.join(timeout=timeout)
    if process.is_alive():
        process.terminate()
        process.join()
