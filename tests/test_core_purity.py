"""The processing core is pure: no I/O clients, servers or clock reads.

Everything under ``src/frictionkit/core/`` must compute the same result from the
same events, in tests, in replay and in every processor; a wall-clock read or an
I/O import there breaks that (SPEC §2 invariant). Checked statically with ``ast``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[1] / "src" / "frictionkit" / "core"

BANNED_MODULES = frozenset(
    {"kafka", "confluent_kafka", "clickhouse_connect", "chdb", "duckdb", "fastapi", "starlette", "uvicorn", "time"}
)
# Attribute reads on these objects that consult a clock.
CLOCK_ATTRS = frozenset(
    {"now", "utcnow", "today", "time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns"}
)
CLOCK_OWNERS = frozenset({"datetime", "date", "time", "datetime.datetime", "datetime.date"})


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def impurities(source: str, filename: str = "<string>") -> list[str]:
    """What in ``source`` makes a module impure, one line each (empty when pure)."""
    tree = ast.parse(source, filename)
    found: list[str] = []
    aliases: dict[str, str] = {}  # local name -> what it really is ("datetime.datetime", ...)

    def banned(module: str) -> bool:
        return module.split(".")[0] in BANNED_MODULES

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if banned(a.name):
                    found.append(f"{filename}:{node.lineno}: import {a.name}")
                aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if banned(node.module):
                found.append(f"{filename}:{node.lineno}: from {node.module} import ...")
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
                if node.module == "datetime" and a.name in CLOCK_ATTRS:
                    found.append(f"{filename}:{node.lineno}: from datetime import {a.name}")
        elif isinstance(node, ast.Call):
            fn = _dotted(node.func)
            if fn in ("__import__", "importlib.import_module", "import_module") and node.args:
                arg = node.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and banned(arg.value):
                    found.append(f"{filename}:{node.lineno}: dynamic import of {arg.value}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in CLOCK_ATTRS:
            owner = _dotted(node.value)
            if owner is None:
                continue
            head, _, rest = owner.partition(".")
            real = aliases.get(head, head) + (f".{rest}" if rest else "")
            if owner in CLOCK_OWNERS or real in CLOCK_OWNERS:
                found.append(f"{filename}:{node.lineno}: clock read {owner}.{node.attr}")
    return found


def core_modules() -> list[Path]:
    return sorted(CORE.rglob("*.py"))


def test_the_core_has_modules():
    names = {p.name for p in core_modules()}
    assert {"model.py", "contract.py", "sessionizer.py", "incidents.py", "metrics.py"} <= names


@pytest.mark.parametrize("path", core_modules(), ids=lambda p: str(p.relative_to(CORE)))
def test_core_module_is_pure(path):
    assert impurities(path.read_text(), str(path.relative_to(CORE))) == []


# -- the checker itself -----------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "import time",
        "import time as t",
        "from time import monotonic",
        "import confluent_kafka",
        "from confluent_kafka import Producer",
        "import kafka.producer",
        "import clickhouse_connect",
        "import chdb",
        "import duckdb",
        "from fastapi import FastAPI",
        "from starlette.requests import Request",
        "import uvicorn",
        "from datetime import datetime\nx = datetime.now()",
        "from datetime import datetime\nx = datetime.utcnow()",
        "from datetime import date\nx = date.today()",
        "import datetime\nx = datetime.datetime.now()",
        "import datetime as dt\nx = dt.datetime.now(dt.timezone.utc)",
        "from datetime import datetime as DT\nf = DT.now",
        "def f():\n    import time\n    return time.time()",
        "t = __import__('time').time()",
        "import importlib\nm = importlib.import_module('duckdb')",
    ],
)
def test_checker_flags_impure_code(source):
    assert impurities(source), source


def test_checker_accepts_pure_code():
    source = (
        "from __future__ import annotations\n"
        "import hashlib, math, re, zlib\n"
        "from datetime import datetime, timezone\n"
        "import msgspec\n"
        "from .model import Event\n"
        "EPOCH = datetime(1970, 1, 1).toordinal()\n"
        "def f(ev):\n"
        "    return ev.time + ev.now  # attributes of other objects are not clocks\n"
    )
    assert impurities(source) == []


def test_checker_reports_where(tmp_path):
    [msg] = impurities("x = 1\nimport duckdb\n", "bad.py")
    assert msg.startswith("bad.py:2:") and "duckdb" in msg
