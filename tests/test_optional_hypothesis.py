"""hypothesis is optional (the ``testing`` extra): leadkey itself never imports it, and
``leadkey.adapters.strategies`` says how to install it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

#: Runs with hypothesis blocked: imports every module but the strategies, ingests two
#: payloads through ``python -m leadkey.adapters.cli``, then tries the strategies.
PROGRAM = r"""
import sys

sys.modules["hypothesis"] = None  # as if hypothesis were not installed

import importlib
import json
import pkgutil
import runpy

import leadkey.adapters
import leadkey.domain
import leadkey.projections

imported = []
for package in (leadkey.domain, leadkey.projections, leadkey.adapters):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        name = module.name
        if name == "leadkey.adapters.strategies" or name.endswith(".__main__"):
            continue
        importlib.import_module(name)
        imported.append(name)

sys.argv = ["leadkey", "--store", sys.argv[1], "ingest", sys.argv[2]]
try:
    runpy.run_module("leadkey.adapters.cli", run_name="__main__", alter_sys=True)
except SystemExit as stop:
    exit_code = stop.code
loaded = sorted(name for name in sys.modules if name.split(".")[0] == "hypothesis")
try:
    import leadkey.adapters.strategies
except ImportError as error:
    message = str(error)
else:
    message = None
print(json.dumps({"imported": imported, "exit": exit_code, "loaded": loaded, "error": message}))
"""


def run_without_hypothesis(tmp_path: Path) -> tuple[dict, str]:
    payloads = tmp_path / "payloads.jsonl"
    payloads.write_text(
        '{"fields": {"phone": "+91 99999 99999"}}\n{"fields": {"phone": "09999999999"}}\n',
        encoding="utf-8",
    )
    store = f"sqlite:///{tmp_path / 'leadkey.db'}"
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, store, str(payloads)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    *output, last = done.stdout.splitlines()
    return json.loads(last), "\n".join(output)


def test_leadkey_runs_without_hypothesis_and_the_strategies_say_how_to_get_it(
    tmp_path: Path,
) -> None:
    result, output = run_without_hypothesis(tmp_path)
    assert result["loaded"] == ["hypothesis"]  # only the blocked entry: nothing imported it
    assert {
        "leadkey.domain.normalization",
        "leadkey.projections.what_if",
        "leadkey.adapters.application",
        "leadkey.adapters.cli.ingest",
    } <= set(result["imported"])
    assert result["exit"] == 0
    assert "Ingested 2 payloads" in output
    assert "created  1" in output and "updated  1" in output
    assert "pip install 'leadkey[testing]'" in result["error"]
