"""No test module reads the clock while it is imported.

A date computed at import (``TODAY = timezone.localdate()``, or one in a ``parametrize`` list)
is yesterday's for every test that runs after midnight, while the code under test asks the clock
again: a run crossing midnight in Copenhagen then fails. Tests ask the clock when they run, or
use the fixed day of tests/clock.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
CLOCK_READS = {"localdate", "localtime", "now", "today", "utcnow"}


class _ImportTimeClockReads(ast.NodeVisitor):
    """Calls evaluated when the module is imported: everything outside function bodies, but
    including decorators and default arguments, which are evaluated at definition."""

    def __init__(self) -> None:
        self.found: list[int] = []

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name in CLOCK_READS:
            self.found.append(node.lineno)
        self.generic_visit(node)

    def _definition(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for expression in [*node.decorator_list, *node.args.defaults, *node.args.kw_defaults]:
            if expression is not None:
                self.visit(expression)

    visit_FunctionDef = _definition
    visit_AsyncFunctionDef = _definition

    def visit_Lambda(self, node: ast.Lambda) -> None:
        pass  # its body runs when called


def import_time_clock_reads(source: str) -> list[int]:
    visitor = _ImportTimeClockReads()
    visitor.visit(ast.parse(source))
    return visitor.found


def test_the_scan_finds_what_it_must():
    source = (
        "import datetime as dt\nfrom django.utils import timezone\n"
        "TODAY = timezone.localdate()\n"
        "START: dt.date = dt.date.today() - dt.timedelta(days=1)\n"
        "class Case:\n    moment = timezone.now()\n"
        "@pytest.mark.parametrize('d', [timezone.localdate()])\ndef test_a(d): pass\n"
        "def test_b(when=dt.datetime.now()): pass\n"
    )
    assert import_time_clock_reads(source) == [3, 4, 6, 7, 9]


def test_the_scan_leaves_reads_at_run_time_alone():
    source = (
        "from django.utils import timezone\n"
        "def test_a():\n    assert timezone.localdate()\n"
        "TODAY = lambda: timezone.localdate()\n"
        "class Case:\n    def test_b(self):\n        return timezone.now()\n"
    )
    assert import_time_clock_reads(source) == []


def test_no_test_module_reads_the_clock_at_import():
    offenders = [
        f"{path.relative_to(TESTS.parent)}:{line}"
        for path in sorted(TESTS.rglob("*.py"))
        for line in import_time_clock_reads(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
