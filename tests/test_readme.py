"""The README's Python example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def test_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    [block] = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"lines": ['{"fields": {"phone": "+91 88888 88888"}}']}
    exec(compile(block, "README.md", "exec"), namespace)
    decision, report = namespace["decision"], namespace["report"]
    assert (decision.outcome, decision.key) == ("created", "+919999999999")
    assert namespace["result"].key == "+918888888888"
    assert (report.identifier, report.leads, len(report.unreachable)) == ("email", 1, 1)
