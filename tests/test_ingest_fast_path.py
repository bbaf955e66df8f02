"""POST /v1/events/batch answered by app.FrictionkitApp's fast path (pure ASGI,
before FastAPI's middleware) must answer exactly what the FastAPI route does:
same status, body bytes and headers, for every kind of answer."""

from __future__ import annotations

import gzip
import json

import pytest

from api_support import auth, batch, client, event, past_ms

T0 = past_ms()
GOOD = json.dumps(batch([{**event(T0 + i), "eventId": f"e{i}"} for i in range(3)])).encode()
MIXED = json.dumps(batch([{**event(T0), "eventId": "m0"}, {**event(T0 + 1, org="globex"), "eventId": "m1"},
                          {**event(T0 + 2), "password": "x"}, {"orgId": "acme"}, "not an object",
                          {**event(T0 + 3), "orgId": "ácmé\u2028"}])).encode()
JSON = {"Content-Type": "application/json"}

CASES = {
    "ok": (GOOD, {**JSON, **auth("k-acme")}),
    "partial": (MIXED, {**JSON, **auth("k-acme")}),
    "gzip": (gzip.compress(GOOD), {**JSON, **auth("k-acme"), "Content-Encoding": "gzip"}),
    "x-api-key": (GOOD, {**JSON, "X-API-Key": "k-all"}),
    "no key": (GOOD, JSON),
    "unknown key": (GOOD, {**JSON, **auth("nope")}),
    "read-only key": (GOOD, {**JSON, **auth("k-ro")}),
    "content type": (GOOD, {"Content-Type": "text/plain", **auth("k-acme")}),
    "content type with charset": (GOOD, {"Content-Type": "application/json; charset=utf-8", **auth("k-acme")}),
    "encoding": (GOOD, {**JSON, **auth("k-acme"), "Content-Encoding": "br"}),
    "not gzip": (GOOD, {**JSON, **auth("k-acme"), "Content-Encoding": "gzip"}),
    "malformed": (b"{not json", {**JSON, **auth("k-acme")}),
    "empty batch": (json.dumps(batch([])).encode(), {**JSON, **auth("k-acme")}),
    "too large": (b" " * (5 * 1024 * 1024 + 1), {**JSON, **auth("k-acme")}),
    "headers too large": (GOOD, {**JSON, **auth("k-acme"), "X-Pad": "p" * 17_000}),
}


def _answers(tmp_path, fast: bool) -> dict[str, tuple[int, bytes, list[tuple[str, str]]]]:
    out = {}
    tmp_path.mkdir()
    with client(tmp_path) as c:
        if not fast:
            c.app.fast_ingest = None
        else:
            assert c.app.fast_ingest is not None
        for name, (body, headers) in CASES.items():
            r = c.post("/v1/events/batch", content=body, headers=headers)
            out[name] = (r.status_code, r.content, sorted(r.headers.multi_items()))
    return out


def test_the_fast_path_answers_what_the_fastapi_route_answers(tmp_path):
    fast = _answers(tmp_path / "fast", fast=True)
    routed = _answers(tmp_path / "routed", fast=False)
    assert fast == routed
    assert fast["ok"][0] == 200 and json.loads(fast["ok"][1])["accepted"] == 3
    assert fast["partial"][0] == 200 and json.loads(fast["partial"][1])["rejected"] == 5
    assert {name: a[0] for name, a in fast.items() if a[0] != 200} == {
        "no key": 401, "unknown key": 401, "read-only key": 403, "content type": 415, "encoding": 415,
        "not gzip": 400, "malformed": 400, "empty batch": 400, "too large": 413,
        "headers too large": 431}


@pytest.mark.parametrize("fast", [True, False])
def test_an_exception_in_the_handler_is_an_opaque_500_on_both_paths(tmp_path, fast):
    with client(tmp_path) as c:
        if not fast:
            c.app.fast_ingest = None

        async def broken(_events):
            raise KeyError("acme")

        c.app.state.fk.sink.publish = broken
        r = c.post("/v1/events/batch", content=GOOD, headers={**JSON, **auth("k-acme")})
        assert r.status_code == 500 and r.json() == {"error": "internal error"}


def test_other_methods_and_paths_still_go_through_fastapi(tmp_path):
    with client(tmp_path) as c:
        assert c.get("/v1/events/batch", headers=auth("k-acme")).status_code == 405
        assert c.app.fast_ingest is not None


def test_the_fast_path_is_off_when_cors_is_configured(tmp_path):
    with client(tmp_path, cors_origins=("https://ok.example",)) as c:
        assert c.app.fast_ingest is None
        r = c.post("/v1/events/batch", content=GOOD,
                   headers={**JSON, **auth("k-acme"), "Origin": "https://ok.example"})
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://ok.example"
