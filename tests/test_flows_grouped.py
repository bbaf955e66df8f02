"""Top flows from store-grouped paths equal top flows from the runs themselves.

``insights.flows.flows_top`` reads ``store.task_path_groups`` (the runs summed
per task and raw path in SQL) and ranks with ``core.flows.top_flows_from_groups``.
Its JSON must be exactly, not approximately, what ``core.flows.top_flows`` gives
over every run from ``store.task_runs``: same variants, order, medians, means,
rates and drop-offs; on DuckDB and on ClickHouse (chdb), with path rules that
merge raw paths into one variant and a cut that merges variants further.
"""

import msgspec
import pytest

from frictionkit.core.flow_paths import FlowConfig
from frictionkit.core.flows import ANY_TASK, flows_payload, top_flows, top_flows_from_groups
from frictionkit.core.model import TaskPathGroup, TaskRun
from frictionkit.generate import write_jsonl
from frictionkit.insights.flows import flows_top
from frictionkit.insights.query import resolve_query
from frictionkit.pipeline.replay import replay
from frictionkit.store import open_store

NOW_MS = 1_800_000_000_000
CONFIGS = {
    "default": FlowConfig(),
    # Aliases make several raw paths clean to one path (merged in Python after
    # the SQL grouping); the short cut merges cleaned paths into one variant.
    "merging": FlowConfig(alias_rules=[(r"crm/(contacts|deals).*", "crm/records"), (r"helpdesk/kb-.*", "helpdesk/kb")],
                          max_steps=3),
}


def _per_run_payload(store, q, *, limit, task, config):
    """The computation flows_top did before grouping moved into SQL."""
    runs = store.task_runs(q.org_id, q.product_id, q.from_ms, q.to_ms, task, with_times=False)
    return flows_payload(top_flows(runs, config, limit=limit, task=ANY_TASK if task is None else task))


def _exact(payload):
    # JSON bytes: 0.1 + 0.2 and 0.30000000000000004 would differ here, as in the API.
    return msgspec.json.encode(payload)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    path = tmp_path_factory.mktemp("gen") / "generated.jsonl"
    write_jsonl(path, sessions=300, seed=5)
    return path


@pytest.mark.parametrize("scheme", ["duckdb", "chdb"])
def test_grouped_top_flows_equal_per_run_top_flows(scheme, generated, tmp_path):
    if scheme == "chdb":
        pytest.importorskip("chdb")
    dsn = f"duckdb:///{tmp_path}/s.duckdb" if scheme == "duckdb" else f"chdb:///{tmp_path}/ch"
    store = open_store(dsn)
    try:
        replay([str(generated)], store, now_ms=NOW_MS)
        checked = merged_rows = 0
        for scope in store.scopes():
            q = resolve_query(store, org_id=scope.org_id, product_id=scope.product_id, from_text=None, to_text=None)
            groups = store.task_path_groups(q.org_id, q.product_id, q.from_ms, q.to_ms, None)
            runs = store.task_runs(q.org_id, q.product_id, q.from_ms, q.to_ms, None, with_times=False)
            assert sum(g.runs for g in groups) == len(runs)
            assert len({(g.task_name, tuple(g.path)) for g in groups}) == len(groups)
            merged_rows += sum(g.runs > 1 for g in groups)
            tasks = [None, *sorted({g.task_name for g in groups if g.task_name is not None})[:2], "no-such-task"]
            for config in CONFIGS.values():
                for task in tasks:
                    for limit in (None, 10, 0):
                        grouped = flows_top(store, q, limit=limit, task=task, config=config)
                        assert _exact(grouped) == _exact(
                            _per_run_payload(store, q, limit=limit, task=task, config=config)), (scope, task, limit)
                        checked += len(grouped["flows"])
        assert checked > 100 and merged_rows > 10  # the data did exercise merges and medians
    finally:
        store.close()


def _run(path, task, outcome, duration_ms, friction, session):
    return TaskRun("o", "p", session, task, 0, 0, duration_ms, duration_ms, outcome, path, [], 0, friction, 1)


def test_grouped_rows_merge_like_runs_when_paths_clean_alike():
    """Hand-made rows: two raw paths alias to one variant, with an even count
    (median of the two middle values), ties, a singleton and session flows."""
    runs = [
        _run(["a", "orders/1"], "buy", "completed", 1000, 0.1, "s1"),
        _run(["a", "orders/2"], "buy", "failed", 4000, 0.2, "s2"),
        _run(["a", "orders/2"], "buy", "abandoned", 2500, 0.7, "s3"),
        _run(["a", "orders/1", "orders/11"], "buy", "completed", 3000, 0.3, "s4"),
        _run(["a", "c", "d"], "buy", "abandoned", 50, 0.4, "s8"),  # cut to a → …
        _run(["a", "e", "f"], "buy", "failed", 60, 0.6, "s9"),  # cut to a → … as well
        _run(["b"], "buy", "abandoned", 10, 0.9, "s5"),
        _run(["h", "x"], None, "session", 7, 0.0, "s6"),
        _run(["h", "x"], None, "session", 9, 0.5, "s7"),
    ]
    rows: dict[tuple, list[TaskRun]] = {}
    for r in runs:
        rows.setdefault((r.task_name, tuple(r.path)), []).append(r)
    groups = [
        TaskPathGroup(task, list(path), len(rs), sum(r.outcome == "completed" for r in rs),
                      sum(r.outcome in ("abandoned", "failed") for r in rs), [r.duration_ms for r in rs],
                      [r.frustration_score for r in rs])
        for (task, path), rs in reversed(list(rows.items()))  # row order must not matter
    ]
    config = FlowConfig(alias_rules=[(r"orders/\d+", "orders/:id")], max_steps=2)
    for task in (ANY_TASK, "buy", None):
        expected = top_flows(runs, config, limit=None, task=task)
        assert top_flows_from_groups(groups, config, limit=None, task=task) == expected
    first = top_flows_from_groups(groups, config, limit=1)[0]
    assert (first.path, first.sessions, first.median_duration_sec) == (["a", "orders/:id"], 4, 2.75)
    assert [(d.screen_id, d.rate) for d in first.dropoffs] == [("orders/:id", 0.5)]
    cut = next(f for f in top_flows_from_groups(groups, config, limit=None) if f.path == ["a", "…"])
    assert [(d.screen_id, d.rate) for d in cut.dropoffs] == [("d", 0.5), ("f", 0.5)]
