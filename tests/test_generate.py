"""frictionkit generate: determinism, the SPEC §3 wire format, time order, the
shape of the traffic, and — checked with a small independent implementation of
the SPEC §6 rules — that friction shows up where ``INJECTED`` says it was put.
"""

from __future__ import annotations

import collections
import gzip
import hashlib
import itertools
import math
import os
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import msgspec
import pytest
import typer
from typer.testing import CliRunner

from frictionkit.cli.generate import register
from frictionkit.generate import INJECTED, INJECTED_TASK_FAILURES, TrafficStream, iter_events, write_jsonl

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "demo.jsonl.gz"
FIXTURE_SESSIONS, FIXTURE_SEED = 1200, 7  # how fixtures/demo.jsonl.gz was made

REQUIRED_KEYS = {"orgId", "productId", "sessionId", "userHash", "ts", "eventType", "screenId",
                 "route", "deviceType"}
OPTIONAL_KEYS = {"eventId", "appName", "elementType", "elementLabelHash", "errorCode", "os",
                 "browser", "latencyMs", "extra"}
EVENT_TYPES = {"click", "scroll", "input_meta", "navigation", "focus_change", "custom"}
DEVICE_TYPES = {"desktop", "mobile", "tablet"}
TS_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
INCIDENT_TYPES = ("rage_click", "backtrack", "abandoned_task", "error_click")


def ts_ms(event: dict) -> int:
    return int(datetime.fromisoformat(event["ts"].replace("Z", "+00:00")).timestamp() * 1000)


@pytest.fixture(scope="module")
def fixture_events() -> list[dict]:
    with gzip.open(FIXTURE, "rb") as f:
        return [msgspec.json.decode(line) for line in f]


@pytest.fixture(scope="module")
def sample_events() -> list[dict]:
    return list(iter_events(400, 3))


# -- determinism --------------------------------------------------------------------


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(tmp_path):
    first, second, other = tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl.gz", tmp_path / "c.jsonl.gz"
    assert write_jsonl(first, 150, 42) == write_jsonl(second, 150, 42) > 0
    write_jsonl(other, 150, 43)
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() != other.read_bytes()


def test_output_does_not_depend_on_python_hash_randomisation():
    code = ("import hashlib, msgspec; from frictionkit.generate import iter_events; "
            "print(hashlib.sha256(b''.join(msgspec.json.encode(e) for e in iter_events(60, 5))).hexdigest())")
    digests = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        digests.add(run.stdout.strip())
    assert len(digests) == 1


def test_write_jsonl_writes_exactly_the_iterated_events(tmp_path):
    path = tmp_path / "plain.jsonl"
    count = write_jsonl(path, 80, 9)
    lines = path.read_bytes().splitlines()
    assert len(lines) == count
    assert [msgspec.json.decode(line) for line in lines] == list(iter_events(80, 9))


def test_committed_fixture_is_what_the_generator_produces(fixture_events):
    regenerated = iter_events(FIXTURE_SESSIONS, FIXTURE_SEED)
    for n, (stored, fresh) in enumerate(itertools.zip_longest(fixture_events, regenerated)):
        assert stored == fresh, (
            f"fixtures/demo.jsonl.gz differs from the generator at event {n}; regenerate it with "
            f"write_jsonl('fixtures/demo.jsonl.gz', {FIXTURE_SESSIONS}, {FIXTURE_SEED}, compresslevel=9)")
    assert 40_000 <= len(fixture_events) <= 70_000
    assert FIXTURE.stat().st_size < 1_500_000


# -- wire format and order ---------------------------------------------------------------


def test_every_event_follows_the_wire_format(sample_events):
    for event in sample_events:
        assert REQUIRED_KEYS <= event.keys() <= REQUIRED_KEYS | OPTIONAL_KEYS, event
        for key in ("orgId", "productId", "sessionId", "userHash"):
            assert isinstance(event[key], str) and 1 <= len(event[key]) <= 128
        assert 1 <= len(event["eventId"]) <= 64
        assert 1 <= len(event["screenId"]) <= 256 and len(event["route"]) <= 2048
        assert event["route"].startswith("/")
        assert TS_PATTERN.match(event["ts"]), event["ts"]
        assert event["eventType"] in EVENT_TYPES and event["deviceType"] in DEVICE_TYPES
        for key in ("appName", "elementType", "elementLabelHash", "errorCode", "os", "browser"):
            if key in event:
                assert isinstance(event[key], str) and len(event[key]) <= 256
        if "latencyMs" in event:
            assert isinstance(event["latencyMs"], (int, float)) and math.isfinite(event["latencyMs"])
            assert event["latencyMs"] >= 0
        extra = event.get("extra")
        if extra is not None:
            assert 0 < len(extra) <= 32
            for value in extra.values():
                assert value is None or isinstance(value, (bool, int, float)) or (
                    isinstance(value, str) and len(value) <= 256)
        if event["eventType"] == "click":
            assert "elementType" in event and "elementLabelHash" in event
        if event["eventType"] == "focus_change":
            assert extra["state"] in ("blur", "focus")
        if extra and "task_name" in extra:
            assert event["eventType"] == "custom" and extra["action"] in ("start", "complete", "fail")
        assert len(msgspec.json.encode(event)) < 32 * 1024


def test_event_ids_are_unique_and_timestamps_globally_sorted(sample_events):
    assert len({e["eventId"] for e in sample_events}) == len(sample_events)
    stamps = [ts_ms(e) for e in sample_events]
    assert stamps == sorted(stamps)


def test_within_a_session_time_strictly_increases_and_navigation_changes_screen(sample_events):
    last_event: dict[tuple, dict] = {}
    for event in sample_events:
        key = (event["orgId"], event["productId"], event["sessionId"])
        previous = last_event.get(key)
        if previous is None:
            assert event["eventType"] == "navigation"  # every session opens with a screen view
        else:
            assert ts_ms(event) > ts_ms(previous)
            if event["eventType"] == "navigation":
                assert event["screenId"] != previous["screenId"]  # it carries the NEW screen
            else:
                assert event["screenId"] == previous["screenId"]
        last_event[key] = event


def test_sessions_interleave_in_time(sample_events):
    switches = sum(a["sessionId"] != b["sessionId"] for a, b in itertools.pairwise(sample_events))
    sessions = len({e["sessionId"] for e in sample_events})
    assert switches > 3 * sessions  # back-to-back sessions would switch once each


# -- shape of the traffic -------------------------------------------------------------


def test_traffic_looks_like_a_working_week(fixture_events):
    sessions = collections.defaultdict(list)
    for event in fixture_events:
        sessions[(event["orgId"], event["productId"], event["sessionId"])].append(event)
    assert len(sessions) == FIXTURE_SESSIONS
    assert {key[:2] for key in sessions} == {("acme", "crm"), ("acme", "helpdesk"), ("globex", "crm"),
                                             ("initech", "helpdesk")}
    start_days = collections.Counter(events[0]["ts"][:10] for events in sessions.values())
    assert sorted(start_days) == ["2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05", "2026-11-06"]
    assert all(8 <= int(events[0]["ts"][11:13]) < 18 for events in sessions.values())
    devices = collections.Counter(events[0]["deviceType"] for events in sessions.values())
    assert devices["desktop"] > 0.7 * len(sessions) and devices["mobile"] > 0 and devices["tablet"] > 0
    assert len({events[0]["userHash"] for events in sessions.values()}) > 100
    durations_min = sorted((ts_ms(ev[-1]) - ts_ms(ev[0])) / 60_000 for ev in sessions.values())
    assert 1 <= durations_min[len(durations_min) // 2] <= 10 and durations_min[-1] >= 40
    without_tasks = [ev for ev in sessions.values() if not any("task_name" in (e.get("extra") or {}) for e in ev)]
    assert 0.05 * len(sessions) < len(without_tasks) < 0.5 * len(sessions)
    split = [ev for ev in sessions.values()
             if any(ts_ms(b) - ts_ms(a) > 30 * 60_000 for a, b in itertools.pairwise(ev))]
    assert len(split) >= 10  # the pipeline must split these client sessions
    routes = {e["route"] for e in fixture_events if e["screenId"] == "crm/contacts/:id"}
    assert len(routes) > 50 and all(re.fullmatch(r"/contacts/\d+", r) for r in routes)


def test_start_is_a_parameter_and_naive_datetimes_are_utc():
    aware = next(iter_events(5, 1, start="2027-03-01T09:00:00Z"))
    naive = next(iter_events(5, 1, start=datetime(2027, 3, 1, 9, 0)))
    offset = next(iter_events(5, 1, start=datetime(2027, 3, 1, 9, 0, tzinfo=timezone.utc)))
    assert aware == naive == offset and aware["ts"].startswith("2027-03-0")
    with pytest.raises(ValueError, match="ISO 8601"):
        next(iter_events(5, 1, start="next monday"))
    with pytest.raises(ValueError):
        iter_events(-1, 1)
    assert list(iter_events(0, 1)) == []


def test_streaming_simulates_sessions_only_as_the_merge_reaches_them():
    stream = TrafficStream(1_000_000, 1)
    first_events = list(itertools.islice(stream, 2000))
    assert len(first_events) == 2000
    assert stream.sessions_started < 2000  # lazily, not all million up front


def test_extra_orgs_add_clean_tenants():
    orgs = {e["orgId"] for e in iter_events(1500, 2, extra_orgs=22)}
    assert len(orgs) == 3 + 22


# -- injected friction, checked against SPEC §6 independently ------------------------------


def spec_incidents(events: list[dict]) -> tuple[collections.Counter, dict[str, collections.Counter]]:
    """Screens visited per session, and per incident type the sessions showing it per screen.

    Keys are (org, product, screen). A deliberately plain reading of SPEC §5/§6 defaults.
    """
    by_key = collections.defaultdict(list)
    for event in events:
        by_key[(event["orgId"], event["productId"], event["sessionId"])].append((ts_ms(event), event))
    sessions = []
    for (org, product, _), items in by_key.items():
        current = [items[0]]
        for before, after in itertools.pairwise(items):
            if after[0] - before[0] > 30 * 60_000:  # SPEC §5 inactivity split
                sessions.append((org, product, current))
                current = []
            current.append(after)
        sessions.append((org, product, current))

    visits: collections.Counter = collections.Counter()
    showing = {kind: collections.Counter() for kind in INCIDENT_TYPES}
    for org, product, items in sessions:
        found: set[tuple[str, str]] = set()
        for screen in {e["screenId"] for _, e in items}:
            visits[(org, product, screen)] += 1
        clicks = [(t, e) for t, e in items if e["eventType"] == "click"]
        run = 1
        for (t0, a), (t1, b) in itertools.pairwise(clicks):
            same = (a["screenId"], a["elementLabelHash"]) == (b["screenId"], b["elementLabelHash"])
            run = run + 1 if same and t1 - t0 <= 1000 else 1
            if run == 3:
                found.add(("rage_click", b["screenId"]))
        views = []
        for t, e in items:
            if e["eventType"] == "navigation" and (not views or views[-1][1] != e["screenId"]):
                views.append((t, e["screenId"]))
        for (_, a), (t_b, b), (t_back, c) in zip(views, views[1:], views[2:]):
            if a == c and t_back - t_b <= 20_000:
                found.add(("backtrack", b))
        for i, (t, click) in enumerate(items):
            if click["eventType"] != "click":
                continue
            for t_next, nxt in items[i + 1:]:
                if t_next - t > 1000:
                    break
                if "errorCode" in nxt and nxt["screenId"] == click["screenId"]:
                    found.add(("error_click", click["screenId"]))
                    break
        open_starts: dict[str, int] = {}

        def abandon(start_ms: int) -> None:
            last_screen = [e["screenId"] for t, e in items if t <= start_ms + 15 * 60_000][-1]
            found.add(("abandoned_task", last_screen))

        for t, e in items:
            marker = e.get("extra") or {}
            if "task_name" not in marker:
                continue
            name = marker["task_name"]
            if name in open_starts and t - open_starts[name] > 15 * 60_000:
                abandon(open_starts.pop(name))
            if marker["action"] == "start":
                if name in open_starts:
                    abandon(open_starts.pop(name))
                open_starts[name] = t
            else:
                open_starts.pop(name, None)
        for start_ms in open_starts.values():
            abandon(start_ms)
        for kind, screen in found:
            showing[kind][(org, product, screen)] += 1
    return visits, showing


def test_injected_screens_show_their_symptom_far_more_often_than_any_other(fixture_events):
    visits, showing = spec_incidents(fixture_events)
    for kind in INCIDENT_TYPES:
        rates = {key: showing[kind][key] / visits[key] for key in visits if visits[key] >= 50}
        injected = {key for key, kinds in INJECTED.items() if kind in kinds}
        assert injected, kind
        background = max(rate for key, rate in rates.items() if key not in injected)
        for key in injected:
            assert rates[key] >= 0.25, (kind, key, rates[key])
            assert rates[key] >= 5 * max(background, 0.01), (kind, key, rates[key], background)
        busiest = max(showing[kind], key=showing[kind].__getitem__)
        assert busiest in injected, (kind, busiest)


def test_task_failures_come_only_from_the_failing_submit(fixture_events):
    failed = collections.Counter(
        (e["orgId"], e["productId"], e["extra"]["task_name"]) for e in fixture_events
        if e["eventType"] == "custom" and (e.get("extra") or {}).get("action") == "fail")
    expected = {(org, product, task) for (org, product), tasks in INJECTED_TASK_FAILURES.items()
                for task in tasks}
    assert set(failed) == expected and sum(failed.values()) >= 20


def test_the_same_screens_elsewhere_are_clean(fixture_events):
    visits, showing = spec_incidents(fixture_events)
    for (org, product, screen), kinds in INJECTED.items():
        for other_org, other_product, other_screen in visits:
            if other_screen == screen and other_org != org and visits[(other_org, other_product, screen)] >= 40:
                for kind in kinds:
                    rate = showing[kind][(other_org, other_product, screen)] / visits[(other_org, other_product, screen)]
                    assert rate < 0.06, (kind, other_org, screen, rate)


# -- CLI ---------------------------------------------------------------------------------


@pytest.fixture()
def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command()
    def version() -> None:  # a second command keeps `generate` a named subcommand
        pass

    return app


def test_cli_writes_a_file_and_prints_a_one_line_summary(cli, tmp_path):
    out = tmp_path / "traffic.jsonl.gz"
    result = CliRunner().invoke(cli, ["generate", "--sessions", "25", "--seed", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = result.stderr.strip()
    assert "\n" not in summary and "25 sessions" in summary and str(out) in summary
    with gzip.open(out, "rb") as f:
        assert hashlib.sha256(f.read()).digest() == hashlib.sha256(
            b"".join(msgspec.json.encode(e) + b"\n" for e in iter_events(25, 3))).digest()


def test_cli_writes_to_stdout_by_default(cli):
    result = CliRunner().invoke(cli, ["generate", "--sessions", "3"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines and all(REQUIRED_KEYS <= msgspec.json.decode(line).keys() for line in lines)


@pytest.mark.parametrize("args, message", [
    (["--start", "someday"], "ISO 8601"),
    (["--sessions", "-4"], "sessions"),
    (["--seed", "-1"], "seed"),
    (["--out", "/nonexistent-dir/x.jsonl"], "cannot write"),
])
def test_cli_errors_are_one_clear_line(cli, args, message):
    result = CliRunner().invoke(cli, ["generate", *args])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert "Traceback" not in result.output
