"""Mutation testing of leadkey's domain and projections: do the tests notice a change?

Each mutant is one small change to one module (a flipped comparison, ``and`` <-> ``or``,
a negated condition, a changed constant, a removed return value or statement).  For
each, only the tests whose coverage reaches the mutated line run, against a copy of the
code (the working tree is never changed); the mutant is *killed* when one of them fails.

    .venv/bin/pip install -e '.[test,mutation]'
    .venv/bin/python .ci/mutate.py --sample 300 --seed 1        # prints the table
    .venv/bin/python .ci/mutate.py --sample 300 --seed 1 --survivors   # and their diffs

Runs are resumable: results are kept in ``.mutation/`` (by mutant, for this source), so
running the same command again continues where it stopped.  A mutant listed in
``.ci/mutation-equivalents.txt`` (with the reason it changes nothing a user can see) is
counted apart, not as a survivor.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import difflib
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("domain", "projections", "adapters")
#: The modules mutated (by default): all of domain/ and projections/.
TARGETS = ("domain", "projections")
WORK = ROOT / ".mutation"
EQUIVALENTS = ROOT / ".ci" / "mutation-equivalents.txt"
#: Test files that start processes or whole CLIs: run last, as they are the slowest.
SLOW_TESTS = ("cli", "readme", "workers", "lookahead")

_SWAPS: dict[type, type] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.GtE,
    ast.GtE: ast.Lt,
    ast.Gt: ast.LtE,
    ast.LtE: ast.Gt,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.And: ast.Or,
    ast.Or: ast.And,
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
}


@dataclasses.dataclass(frozen=True)
class Mutant:
    """One change to one module: ``text`` replaces lines ``first``..``last`` (1-based),
    or the UTF-8 bytes ``start``..``end`` of line ``first`` when they are set (as
    ``ast`` gives column offsets)."""

    module: str  # e.g. "domain/payload.py"
    scope: str  # the enclosing function or class, for a stable id
    operator: str
    first: int
    last: int
    original: str
    text: str
    start: int | None = None
    end: int | None = None
    occurrence: int = 1  # of the same change in the same scope, in source order

    @property
    def key(self) -> str:
        """An id that survives edits elsewhere in the module."""
        key = f"{self.module}:{self.scope}:{self.operator}:{self.original!r}->{self.text!r}"
        return key if self.occurrence == 1 else f"{key}#{self.occurrence}"

    def apply(self, source: str) -> str:
        lines = source.splitlines(keepends=True)
        if self.start is not None and self.end is not None:
            line = lines[self.first - 1].encode("utf-8")
            spliced = line[: self.start] + self.text.encode("utf-8") + line[self.end :]
            lines[self.first - 1] = spliced.decode("utf-8")
        else:
            lines[self.first - 1 : self.last] = [self.text]
        return "".join(lines)


class _Finder(ast.NodeVisitor):
    """Every mutant of one module, in source order."""

    def __init__(self, module: str, source: str) -> None:
        self.module = module
        self.source = source
        self.lines = source.splitlines(keepends=True)
        self.scope: list[str] = []
        self.functions = 0  # how many functions the visit is inside
        self.found: list[Mutant] = []

    def _segment(self, node: ast.AST) -> str | None:
        return ast.get_source_segment(self.source, node)

    def _replace(self, node: ast.expr, new: ast.expr, operator: str) -> None:
        """Replace the expression ``node`` (on one line) by ``new``."""
        original = self._segment(node)
        if original is None or node.lineno != node.end_lineno:
            return
        text = ast.unparse(new)
        if node is not new and isinstance(node, ast.BoolOp | ast.Compare | ast.BinOp):
            text = f"({text})"
        self._add(
            operator, node.lineno, node.lineno, original, text, node.col_offset, node.end_col_offset
        )

    def _remove(self, node: ast.stmt, operator: str) -> None:
        """Replace the statement ``node`` (all its lines) by ``pass``."""
        assert node.end_lineno is not None
        original = "".join(self.lines[node.lineno - 1 : node.end_lineno])
        if self.lines[node.lineno - 1][: node.col_offset].strip():
            return  # shares its line with something else
        self._add(
            operator, node.lineno, node.end_lineno, original, " " * node.col_offset + "pass\n"
        )

    def _add(
        self, operator: str, first: int, last: int, original: str, text: str, *span: int
    ) -> None:
        scope = ".".join(self.scope) or "<module>"
        self.found.append(Mutant(self.module, scope, operator, first, last, original, text, *span))

    # -- where to look (not in annotations, decorators or docstrings) ----------------

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.scope.append(node.name)
        for default in [*node.args.defaults, *node.args.kw_defaults]:
            if default is not None:
                self.visit(default)
        self.functions += 1
        self._body(node.body)
        self.functions -= 1
        self.scope.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.scope.append(node.name)
        self._body(node.body)
        self.scope.pop()

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)

    def visit_Module(self, node: ast.Module) -> None:
        self._body(node.body)

    def _body(self, body: list[ast.stmt]) -> None:
        for statement in body:
            if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
                continue  # a docstring
            if isinstance(statement, ast.Import | ast.ImportFrom):
                continue
            if isinstance(statement, ast.Expr | ast.Raise | ast.AugAssign) or (
                isinstance(statement, ast.Assign) and self.functions
            ):
                self._remove(statement, "remove statement")
            self.visit(statement)

    # -- the mutations --------------------------------------------------------------

    def visit_If(self, node: ast.If) -> None:
        self._negate(node.test)
        self.visit(node.test)
        self._body(node.body)
        self._body(node.orelse)

    def visit_While(self, node: ast.While) -> None:
        self._negate(node.test)
        self.visit(node.test)
        self._body(node.body)
        self._body(node.orelse)

    def visit_For(self, node: ast.For) -> None:
        self.visit(node.iter)
        self._body(node.body)
        self._body(node.orelse)

    def visit_With(self, node: ast.With) -> None:
        for item in node.items:
            self.visit(item.context_expr)
        self._body(node.body)

    def visit_Try(self, node: ast.Try) -> None:
        self._body(node.body)
        for handler in node.handlers:
            self._body(handler.body)
        self._body(node.orelse)
        self._body(node.finalbody)

    def _negate(self, test: ast.expr) -> None:
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            return  # removing the "not" is the same mutant
        self._replace(test, ast.UnaryOp(ast.Not(), test), "negate condition")

    def visit_Compare(self, node: ast.Compare) -> None:
        swap = _SWAPS.get(type(node.ops[0]))
        if swap is not None:
            new = ast.Compare(node.left, [swap(), *node.ops[1:]], node.comparators)
            self._replace(node, new, "flip comparison")
        self.generic_visit(node)

    def visit_BoolOp(self, node: ast.BoolOp) -> None:
        new = ast.BoolOp(_SWAPS[type(node.op)](), node.values)
        self._replace(node, new, "and <-> or")
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        swap = _SWAPS.get(type(node.op))
        if swap is not None:
            self._replace(node, ast.BinOp(node.left, swap(), node.right), "+ <-> -")
        self.generic_visit(node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> None:
        if isinstance(node.op, ast.Not):
            self._replace(node, node.operand, "remove not")
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, bool):
            self._replace(node, ast.Constant(not value), "change constant")
        elif isinstance(value, int):
            self._replace(node, ast.Constant(value + 1), "change constant")
        elif isinstance(value, str) and value:
            self._replace(node, ast.Constant(""), "change constant")

    def visit_Return(self, node: ast.Return) -> None:
        if node.value is not None and not (
            isinstance(node.value, ast.Constant) and node.value.value is None
        ):
            self._replace(node.value, ast.Constant(None), "return None")
        if node.value is not None:
            self.visit(node.value)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        pass  # f-string pieces: messages, not logic


def find_mutants(module: str) -> list[Mutant]:
    source = (ROOT / module).read_text(encoding="utf-8")
    finder = _Finder(module, source)
    finder.visit(ast.parse(source))
    seen: Counter[str] = Counter()
    found = []
    for mutant in finder.found:
        seen[mutant.key] += 1
        found.append(dataclasses.replace(mutant, occurrence=seen[mutant.key]))
    return found


def target_modules(targets: tuple[str, ...]) -> list[str]:
    return sorted(
        str(path.relative_to(ROOT))
        for target in targets
        for path in (ROOT / target).rglob("*.py")
        if path.name != "__init__.py"
    )


def equivalents() -> dict[str, str]:
    """Mutant key -> why it changes nothing a user can see (from EQUIVALENTS)."""
    if not EQUIVALENTS.exists():
        return {}
    found = {}
    for line in EQUIVALENTS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, why = line.partition("\t")
            found[key] = why.strip()
    return found


# -- the copy, coverage and runs -----------------------------------------------------


def source_digest() -> str:
    digest = hashlib.sha256()
    for package in (*PACKAGES, "tests"):
        for path in sorted((ROOT / package).rglob("*.py")):
            digest.update(str(path.relative_to(ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def make_copy(where: Path) -> None:
    """Leadkey's code as the package ``leadkey`` under ``where/src``, and its tests."""
    if where.exists():
        shutil.rmtree(where)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, where / "src" / "leadkey" / package)
    for name in ("__init__.py", "py.typed"):  # the facade
        shutil.copy(ROOT / name, where / "src" / "leadkey" / name)
    shutil.copytree(ROOT / "tests", where / "tests")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, where / name)
    shutil.copytree(ROOT / "examples", where / "examples")


def _env(copy: Path) -> dict[str, str]:
    """The copy's code first on the path, and the plugin that empties memos per test."""
    path = os.pathsep.join([str(copy / "src"), str(ROOT / ".ci")])
    return {**os.environ, "PYTHONPATH": path, "PYTHONHASHSEED": "0"}


#: pytest's options for every run: quiet, no cache, seeded, memos emptied per test.
PYTEST = ["-q", "-p", "no:cacheprovider", "-p", "cold_memos", "--no-header", "--hypothesis-seed=0"]


def coverage_map(work: Path) -> dict[str, dict[str, list[str]]]:
    """module -> line -> the tests (pytest node ids) whose run reaches it."""
    path = work / "coverage.json"
    if path.exists():
        return json.loads(path.read_text())
    copy = work / "copy-0"
    make_copy(copy)
    print("measuring which tests reach which lines (runs the whole suite once)...", flush=True)
    measure = [f"--cov={copy / 'src' / 'leadkey'}", "--cov-context=test", "--cov-report="]
    subprocess.run(
        [sys.executable, "-m", "pytest", *PYTEST, *measure, "tests"],
        cwd=copy,
        env={**_env(copy), "COVERAGE_FILE": str(work / ".coverage")},
        check=True,
    )
    import coverage  # the mutation extra

    data = coverage.CoverageData(basename=str(work / ".coverage"))
    data.read()
    result: dict[str, dict[str, list[str]]] = {}
    prefix = str(copy / "src" / "leadkey") + os.sep
    for measured in data.measured_files():
        if not measured.startswith(prefix):
            continue
        module = measured[len(prefix) :]
        contexts = data.contexts_by_lineno(measured)
        result[module] = {
            str(line): sorted({c.rsplit("|", 1)[0] for c in ctx if c})
            for line, ctx in contexts.items()
        }
    path.write_text(json.dumps(result))
    return result


def tests_for(mutant: Mutant, reach: dict[str, dict[str, list[str]]]) -> list[str]:
    """The tests whose run reaches the mutated lines, fastest files first; for a line run
    only when the module is imported (a constant, a class body), every test that reaches
    the module, or every test if none does (it was imported before any test ran)."""
    lines = reach.get(mutant.module, {})
    span = [str(line) for line in range(mutant.first, mutant.last + 1)]
    found = {test for line in span for test in lines.get(line, [])}
    if not found and (not lines or any(line in lines for line in span)):  # run on import
        found = {test for tests in lines.values() for test in tests} or {
            test for module in reach.values() for tests in module.values() for test in tests
        }
    return sorted(found, key=lambda test: (any(s in test for s in SLOW_TESTS), test))


def run_mutant(mutant: Mutant, tests: list[str], copy: Path, timeout: float) -> str:
    """``killed``, ``survived`` or ``no tests``: the mutant applied to ``copy``'s module."""
    if not tests:
        return "no tests"
    target = copy / "src" / "leadkey" / mutant.module
    original = (ROOT / mutant.module).read_text(encoding="utf-8")
    target.write_text(mutant.apply(original), encoding="utf-8")
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", *PYTEST, *tests],
            cwd=copy,
            env=_env(copy),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        return "survived" if done.returncode == 0 else "killed"
    except subprocess.TimeoutExpired:
        return "killed"  # a mutant that hangs the tests is noticed
    finally:
        target.write_text(original, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=int, default=300, help="mutants to run (0: all)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2, help="mutants run at once")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per mutant")
    parser.add_argument("--survivors", action="store_true", help="print each survivor's diff")
    parser.add_argument("--list", action="store_true", help="only list the sampled mutants")
    parser.add_argument(
        "modules", nargs="*", help="modules to mutate (default: domain/, projections/)"
    )
    args = parser.parse_args()

    modules = args.modules or target_modules(TARGETS)
    every = sorted((m for module in modules for m in find_mutants(module)), key=lambda m: m.key)
    sample = (
        every
        if not args.sample
        else random.Random(args.seed).sample(every, min(args.sample, len(every)))
    )
    if args.list:
        for mutant in sample:
            print(mutant.key)
        return
    work = WORK / source_digest()
    work.mkdir(parents=True, exist_ok=True)
    reach = coverage_map(work)
    results_path = work / "results.jsonl"
    results: dict[str, str] = {}
    if results_path.exists():
        for line in results_path.read_text().splitlines():
            record = json.loads(line)
            results[record["key"]] = record["result"]
    todo = [m for m in sample if m.key not in results]
    print(
        f"{len(every)} mutants in {len(modules)} modules; sample {len(sample)} (seed {args.seed}), "
        f"{len(sample) - len(todo)} already run",
        flush=True,
    )
    copies = [work / f"copy-{n}" for n in range(max(1, args.jobs))]
    for copy in copies:
        if not (copy / "src").exists():
            make_copy(copy)
    free = list(copies)
    started = time.monotonic()

    def one(mutant: Mutant) -> tuple[Mutant, str]:
        copy = free.pop()
        try:
            return mutant, run_mutant(mutant, tests_for(mutant, reach), copy, args.timeout)
        finally:
            free.append(copy)

    with ThreadPoolExecutor(len(copies)) as pool, results_path.open("a") as log:
        for n, (mutant, result) in enumerate(pool.map(one, todo), 1):
            results[mutant.key] = result
            log.write(json.dumps({"key": mutant.key, "result": result}) + "\n")
            log.flush()
            elapsed = time.monotonic() - started
            print(f"[{n}/{len(todo)} {elapsed:.0f}s] {result:<9} {mutant.key[:90]}", flush=True)
    report(sample, results, equivalents(), args.survivors)


def report(
    sample: list[Mutant], results: dict[str, str], known: dict[str, str], diffs: bool
) -> None:
    table: dict[str, Counter[str]] = defaultdict(Counter)
    survivors = []
    for mutant in sample:
        result = results[mutant.key]
        if result != "killed" and mutant.key in known:
            result = "equivalent"
        table[mutant.module][result] += 1
        if result in ("survived", "no tests"):
            survivors.append(mutant)
    print(
        f"\n{'module':<36} {'mutants':>7} {'killed':>6} {'equiv.':>6} {'left':>4} {'kill rate':>9}"
    )
    total: Counter[str] = Counter()
    for module, counts in sorted(table.items()):
        total.update(counts)
        print(_row(module, counts))
    print(_row("all", total))
    for mutant in survivors if diffs else ():
        print(f"\n{results[mutant.key]}: {mutant.key}")
        original = (ROOT / mutant.module).read_text(encoding="utf-8")
        print(
            "".join(
                difflib.unified_diff(
                    original.splitlines(keepends=True),
                    mutant.apply(original).splitlines(keepends=True),
                    mutant.module,
                    "mutant",
                    n=1,
                )
            ),
            end="",
        )


def _row(name: str, counts: Counter[str]) -> str:
    mutants = sum(counts.values())
    real = mutants - counts["equivalent"]
    rate = f"{100 * counts['killed'] / real:.1f} %" if real else "-"
    left = real - counts["killed"]
    killed, same = counts["killed"], counts["equivalent"]
    return f"{name:<36} {mutants:>7} {killed:>6} {same:>6} {left:>4} {rate:>9}"


if __name__ == "__main__":
    main()
