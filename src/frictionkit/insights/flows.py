"""Flow payloads (docs/api.md) over a store, and the graph as Mermaid or DOT.

The discovery itself is ``core.flows`` (pure); this module only fetches the
task runs of a query (for top flows, already summed per distinct path by the
store) and renders. The CLI's ``--format json`` and the HTTP
API return the same dicts.
"""

from __future__ import annotations

import re
from typing import Any

from ..core.flow_paths import FlowConfig
from ..core.flows import ANY_TASK, flow_graph, flows_payload, graph_payload, top_flows_from_groups
from ..core.timefmt import format_duration_ms
from ..store.base import Store
from .query import InsightQuery


def _runs(store: Store, q: InsightQuery, task: str | None, *, with_times: bool):
    return store.task_runs(q.org_id, q.product_id, q.from_ms, q.to_ms, task, with_times=with_times, segment=q.segment)


def flows_top(store: Store, q: InsightQuery, *, limit: int = 10, task: str | None = None,
              config: FlowConfig | None = None) -> dict[str, Any]:
    """``GET /v1/flows/top``; ``task`` None means every task (and session flows).

    The store groups the runs by (task, raw path) in SQL: ranking needs only
    counts, and a window of a few hundred thousand runs holds far fewer
    distinct paths, so this skips building one Python record per run (which
    was most of the time on large windows). The payload is the same as
    ``top_flows`` over ``store.task_runs`` (tests/test_flows_grouped.py)."""
    groups = store.task_path_groups(q.org_id, q.product_id, q.from_ms, q.to_ms, task, segment=q.segment)
    return flows_payload(top_flows_from_groups(groups, config, limit=limit, task=ANY_TASK if task is None else task))


def flows_graph(store: Store, q: InsightQuery, *, task: str | None = None,
                config: FlowConfig | None = None) -> dict[str, Any]:
    """``GET /v1/flows/graph``: the directly-follows graph of the runs."""
    runs = _runs(store, q, task, with_times=True)
    return graph_payload(flow_graph(runs, config, task=ANY_TASK if task is None else task))


def top_as_graph(payload: dict[str, Any]) -> dict[str, Any]:
    """The top variants drawn as one graph (each variant's steps weighted by
    its instances), so ``flows top`` can be rendered like ``flows graph``."""
    visits: dict[str, int] = {}
    edges: dict[tuple[str, str], int] = {}
    for flow in payload["flows"]:
        path, n = flow["path"], flow["sessions"]
        for screen in path:
            visits[screen] = visits.get(screen, 0) + n
        for a, b in zip(path, path[1:]):
            edges[(a, b)] = edges.get((a, b), 0) + n
    return {
        "nodes": [{"screenId": s, "visits": v} for s, v in sorted(visits.items(), key=lambda i: (-i[1], i[0]))],
        "edges": [{"from": a, "to": b, "count": c, "medianMs": None}
                  for (a, b), c in sorted(edges.items(), key=lambda i: (-i[1], i[0]))],
    }


def _edge_label(edge: dict[str, Any]) -> str:
    label = f"{edge['count']}"
    if edge.get("medianMs") is not None:
        label += f" · {format_duration_ms(edge['medianMs'])}"  # median time: "12 min 5 s", not raw ms
    return label


def _node_ids(graph: dict[str, Any]) -> dict[str, str]:
    # Screen ids hold characters neither syntax allows in ids; the label keeps the real name.
    return {node["screenId"]: f"n{i}" for i, node in enumerate(graph["nodes"])}


def _mermaid_text(text: str) -> str:
    return re.sub(r'["<>]', lambda m: {'"': "#quot;", "<": "#lt;", ">": "#gt;"}[m.group()], text)


def graph_mermaid(graph: dict[str, Any]) -> str:
    ids = _node_ids(graph)
    lines = ["flowchart LR"]
    for node in graph["nodes"]:
        lines.append(f'    {ids[node["screenId"]]}["{_mermaid_text(node["screenId"])} ({node["visits"]})"]')
    for edge in graph["edges"]:
        lines.append(f'    {ids[edge["from"]]} -->|"{_edge_label(edge)}"| {ids[edge["to"]]}')
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def graph_dot(graph: dict[str, Any]) -> str:
    ids = _node_ids(graph)
    lines = ["digraph flows {", "    rankdir=LR;", '    node [shape=box, style=rounded];']
    for node in graph["nodes"]:
        lines.append(f'    {ids[node["screenId"]]} [label="{_dot_text(node["screenId"])}\\n{node["visits"]}"];')
    for edge in graph["edges"]:
        lines.append(f'    {ids[edge["from"]]} -> {ids[edge["to"]]} [label="{_edge_label(edge)}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"
