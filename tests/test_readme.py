"""The README's examples run as written and print what it shows."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import settings

from leadkey.adapters.cli import main

README = Path(__file__).resolve().parent.parent / "README.md"


def python_block(section: str) -> str:
    """The one Python code block of the README's section ``## {section}``."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {section}\n")
    end = text.find("\n## ", start + 1)
    [block] = re.findall(r"```python\n(.*?)```", text[start : end if end > 0 else None], re.S)
    return block


def test_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    block = python_block("Python API")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"lines": ['{"fields": {"phone": "+91 88888 88888"}}']}
    exec(compile(block, "README.md", "exec"), namespace)
    decision, report = namespace["decision"], namespace["report"]
    assert (decision.outcome, decision.key) == ("created", "+919999999999")
    assert namespace["result"].key == "+918888888888"
    assert (report.identifier, report.leads, len(report.unreachable)) == ("email", 1, 1)


def test_strategies_example_runs_and_its_properties_hold() -> None:
    """Every ``test_*`` property of the strategies section runs (on fewer examples)."""
    namespace: dict[str, object] = {}
    exec(compile(python_block("Testing with leadkey's strategies"), "README.md", "exec"), namespace)
    properties = [value for name, value in namespace.items() if name.startswith("test_")]
    assert len(properties) == 2
    for prop in properties:
        settings(max_examples=25, deadline=None, database=None)(prop)()


def test_audit_worked_example_prints_what_the_readme_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each ``$ leadkey ...`` line of the worked example prints exactly the lines under it."""
    text = README.read_text(encoding="utf-8")
    example = text[text.index("### A worked example") : text.index("### From Python")]
    blocks = re.findall(r"```console\n(.*?)```", example, re.S)
    assert len(blocks) >= 5
    shutil.copytree(README.parent / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    env: dict[str, str | None] = {}
    for block in blocks:
        for command, expected in re.findall(r"^\$ (.*)\n((?:(?!\$ ).*\n)*)", block, re.M):
            words = shlex.split(command)
            if words[0] == "export":
                name, value = words[1].split("=", 1)
                env[name] = value
                continue
            assert words[0] == "leadkey", command
            result = CliRunner().invoke(main, words[1:], env=env)
            assert result.exit_code == 0, (command, result.stderr, result.exception)
            assert result.stdout == expected, command
