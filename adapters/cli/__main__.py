"""``python -m leadkey.adapters.cli``: the ``leadkey`` command."""

from . import run

run()
