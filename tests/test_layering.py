"""The package's layers (docs/architecture.md, "Layers"): every import of
src/frictionkit, read with ast (lazy imports inside functions included), runs
down a layer or stays inside its own subpackage; no subpackage cycle; nothing
in src imports the workshop (benchmarks and load generators, not installed)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "frictionkit"
ROOT = SRC.parents[1]

# Lowest first. A subpackage may import the subpackages of lower layers only;
# those of one layer do not import each other. Keep in step with docs/architecture.md.
LAYERS: list[set[str]] = [
    {"core", "_native"},                               # pure: no IO, no clock; the compiled kernels
    {"store", "bus", "importers", "generate"},
    {"native"},                                        # the core's typed surface; facts as store.arrow's FactBatch
    {"pipeline", "insights"},                          # stages over the store; reads of the store
    {"stream", "api"},                                 # the Kafka runtime; the HTTP app
    {"cli"},                                           # the commands: may use everything
]
LAYER_OF = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _unit(relative: Path) -> str:
    """The subpackage (or top-level module) a file of src/frictionkit belongs to."""
    return relative.parts[0].removesuffix(".py")


def _imports(path: Path) -> list[tuple[str, int]]:
    """Absolute names a file imports, with their line numbers."""
    relative = path.relative_to(SRC)
    package = ["frictionkit", *relative.parts[:-1]]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                if node.module:
                    found.append((".".join([*base, node.module]), node.lineno))
                else:  # from .. import x: x may be a module
                    found += [(".".join([*base, alias.name]), node.lineno) for alias in node.names]
            else:
                found.append((node.module or "", node.lineno))
    return found


def _edges() -> dict[tuple[str, str], list[str]]:
    """(importing unit, imported unit) -> where, for imports across units."""
    edges: dict[tuple[str, str], list[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC)
        if relative.parts == ("__init__.py",):
            continue
        source = _unit(relative)
        for name, line in _imports(path):
            parts = name.split(".")
            if parts[0] != "frictionkit" or len(parts) < 2:
                continue
            target = parts[1]
            if target != source:
                edges.setdefault((source, target), []).append(f"{relative}:{line}")
    return edges


def test_every_unit_has_a_layer():
    units = {_unit(p.relative_to(SRC)) for p in SRC.rglob("*.py")} - {"__init__"}
    units |= {p.name.split(".")[0] for p in SRC.glob("_native*.so")}
    assert units <= set(LAYER_OF), f"give these a layer in LAYERS and docs/architecture.md: {units - set(LAYER_OF)}"


def test_imports_run_down_the_layers():
    upward = [f"{source} -> {target} ({', '.join(where)})" for (source, target), where in _edges().items()
              if LAYER_OF.get(target, -1) >= LAYER_OF.get(source, -1)]
    assert not upward, "imports that run up or across a layer:\n" + "\n".join(upward)


def test_core_imports_nothing_outside_core():
    outside = [f"core -> {target} ({', '.join(where)})" for (source, target), where in _edges().items()
               if source == "core"]
    assert not outside


def test_no_cycle_between_subpackages():
    graph: dict[str, set[str]] = {}
    for source, target in _edges():
        graph.setdefault(source, set()).add(target)
    state: dict[str, str] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                pytest.fail("import cycle: " + " -> ".join([*trail[trail.index(nxt):], nxt]))
            if nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


def test_nothing_in_src_imports_the_workshop():
    hits = [f"{path.relative_to(SRC)}:{line}" for path in SRC.rglob("*.py") for name, line in _imports(path)
            if name.split(".")[0] == "workshop"]
    assert not hits, f"the workshop is not installed with the package: {hits}"
    assert not (SRC / "bench").exists(), "benchmarks live in workshop/, not in the package"


def test_the_layer_rule_catches_an_upward_import(tmp_path, monkeypatch):
    """The check itself: an import from core up to store is reported."""
    fake = tmp_path / "frictionkit"
    (fake / "core").mkdir(parents=True)
    (fake / "store").mkdir()
    (fake / "core" / "x.py").write_text("from ..store import y\n")
    (fake / "store" / "y.py").write_text("from ..core import x\n")
    monkeypatch.setattr(sys.modules[__name__], "SRC", fake)
    assert ("core", "store") in _edges()
    with pytest.raises(pytest.fail.Exception, match="import cycle"):
        test_no_cycle_between_subpackages()


def test_only_the_kafka_adapter_imports_the_kafka_client():
    """One public wrapper (bus.kafka.confluent) for the C client: every other
    module gets it from there, so a missing extra is one clear message."""
    offenders = []
    for path in sorted(SRC.rglob("*.py")) + sorted(ROOT.joinpath("workshop").rglob("*.py")):
        if path == SRC / "bus" / "kafka.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n.split(".")[0] == "confluent_kafka" for n in names):
                offenders.append(str(path.relative_to(ROOT)))
            if isinstance(node, ast.Attribute) and node.attr == "_ck":
                offenders.append(f"{path.relative_to(ROOT)}: _ck")
    assert not offenders, offenders
