"""Security (issue 7.3): orgs are isolated for writers and readers, keys are
kept hashed and compared in constant time, logs at the default level hold no
key, payload or user hash, CORS is off unless configured, bodies and headers
have size limits, and values reach the dashboard as text."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import re
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from api_support import KEYS, auth, batch, client, event, past_ms, session_events
from frictionkit.api import auth as auth_module
from frictionkit.api.auth import KeyRing, parse_api_keys
from workshop.load import start_server

READ_ROUTES = ["/v1/insights/overview", "/v1/insights/hotspots", "/v1/flows/top", "/v1/flows/graph", "/v1/sessions"]


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    with client(tmp_path_factory.mktemp("sec")) as c:
        t0 = past_ms()
        for org in ("acme", "globex"):
            r = c.post("/v1/events/batch", json=batch(session_events(t0, org=org, session=f"{org}-s", user=f"{org}-u",
                                                                     prefix=org)), headers=auth("k-all"))
            assert r.status_code == 200 and r.json()["accepted"] == 11, r.text
        yield c


# ------------------------------------------------------------------ org isolation


def test_an_ingest_key_cannot_write_another_org(api):
    t0 = past_ms(4)
    mixed = [event(t0, org="globex", session="smuggled", user="smuggler", eventId="x1"),
             event(t0 + 1, org="acme", session="mine", user="me", eventId="x2"),
             event(t0 + 2, org="initech", session="smuggled2", user="smuggler", eventId="x3")]
    r = api.post("/v1/events/batch", json=batch(mixed), headers=auth("k-wo"))
    assert r.status_code == 200
    body = r.json()
    assert body["accepted"] == 1 and body["rejected"] == 2
    assert body["errors"] == ["Event 0: orgId 'globex' is not permitted for this API key",
                              "Event 2: orgId 'initech' is not permitted for this API key"]
    for org, session in (("globex", "smuggled"), ("initech", "smuggled2")):
        r = api.get(f"/v1/sessions/{session}", params={"orgId": org, "productId": "crm"}, headers=auth("k-all"))
        assert r.status_code == 404, r.text
    # A read-only key cannot write at all.
    assert api.post("/v1/events/batch", json=batch(mixed[1:2]), headers=auth("k-ro")).status_code == 403


@pytest.mark.parametrize("route", READ_ROUTES)
def test_a_read_key_cannot_read_another_org(api, route):
    r = api.get(route, params={"orgId": "globex", "productId": "crm"}, headers=auth("k-ro"))
    assert r.status_code == 403 and r.json()["param"] == "orgId", r.text
    # Left out, orgId is inferred among the key's own orgs only: acme, never globex.
    r = api.get(route, headers=auth("k-ro"))
    assert r.status_code == 200, r.text
    assert "globex" not in r.text
    # The same request with a key for globex is answered.
    assert api.get(route, params={"orgId": "globex"}, headers=auth("k-globex")).status_code == 200


def test_a_read_key_cannot_read_another_orgs_session_or_scopes(api):
    r = api.get("/v1/sessions/globex-s", params={"orgId": "globex", "productId": "crm"}, headers=auth("k-ro"))
    assert r.status_code == 403
    assert api.get("/v1/sessions/globex-s", params={"orgId": "globex", "productId": "crm"},
                   headers=auth("k-globex")).status_code == 200
    # The session id of another org under one's own org finds nothing.
    r = api.get("/v1/sessions/globex-s", params={"orgId": "acme", "productId": "crm"}, headers=auth("k-ro"))
    assert r.status_code == 404
    r = api.get("/dashboard/scopes", headers=auth("k-ro"))
    assert r.status_code == 200 and [i["orgId"] for i in r.json()["items"]] == ["acme"]


def test_an_ingest_only_key_cannot_read(api):
    for route in READ_ROUTES:
        assert api.get(route, params={"orgId": "acme"}, headers=auth("k-wo")).status_code == 403


def test_no_or_unknown_key_is_401_everywhere(api):
    for route in READ_ROUTES + ["/v1/sessions/acme-s"]:
        for headers in ({}, auth("nope"), {"Authorization": "Basic azphY21l"}, {"X-API-Key": "k-acm"}):
            r = api.get(route, params={"orgId": "acme", "productId": "crm"}, headers=headers)
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", (route, headers, r.text)
    assert api.post("/v1/events/batch", json=batch([]), headers=auth("k-acme ")).status_code in (200, 400)  # stripped
    assert api.post("/v1/events/batch", json=batch([]), headers=auth("K-ACME")).status_code == 401


# ------------------------------------------------------------------ keys at rest and compared


def _all_values(obj, seen=None):
    """Every attribute value reachable from obj (dataclasses, lists, dicts, sets)."""
    seen = seen if seen is not None else set()
    if id(obj) in seen:
        return
    seen.add(id(obj))
    yield obj
    if isinstance(obj, (list, tuple, set, frozenset)):
        for item in obj:
            yield from _all_values(item, seen)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _all_values(k, seen)
            yield from _all_values(v, seen)
    elif hasattr(obj, "__dict__") or dataclasses.is_dataclass(obj):
        for v in vars(obj).values():
            yield from _all_values(v, seen)


def test_keys_are_kept_only_as_sha256_digests(api, tmp_path):
    state = api.app.state.fk
    plaintexts = [entry.split(":")[0] for entry in KEYS.split(",")]
    ring = state.keys
    for key in ring.keys:
        assert isinstance(key.digest, bytes) and len(key.digest) == 32
    assert {k.digest for k in ring.keys} == {hashlib.sha256(p.encode()).digest() for p in plaintexts}
    dump = repr(list(_all_values(state.settings))) + repr(list(_all_values(ring)))
    for plain in plaintexts:
        found = [v for v in _all_values(state.settings) if isinstance(v, (str, bytes)) and plain in str(v)]
        assert not found, f"the plaintext key {plain!r} is kept: {found[:3]}"
        assert repr(plain) not in dump
    # A keys file may hold digests only.
    digest = hashlib.sha256(b"file-secret").hexdigest()
    (tmp_path / "keys.json").write_text(json.dumps({"keys": [{"sha256": digest, "orgs": ["acme"], "scopes": ["read"]}]}))
    from frictionkit.api.auth import load_keys_file

    (loaded,) = load_keys_file(str(tmp_path / "keys.json"))
    assert KeyRing([loaded]).authenticate("file-secret") is loaded


def test_keys_are_compared_with_hmac_compare_digest_against_every_key(monkeypatch):
    ring = KeyRing(parse_api_keys("alpha:acme,beta:globex,gamma"))
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(auth_module.hmac, "compare_digest", spy)
    for presented, expected in (("beta", "env#2"), ("nope", None), ("alpha", "env#1"), ("gamma", "env#3")):
        calls.clear()
        found = ring.authenticate(presented)
        assert (found.name if found else None) == expected
        # Every stored digest compared, each with the presented key's digest: no early exit, no plain ==.
        assert len(calls) == 3
        assert all(b == hashlib.sha256(presented.encode()).digest() for _a, b in calls)
        assert {a for a, _b in calls} == {k.digest for k in ring.keys}


# ------------------------------------------------------------------ logs


SECRET_KEY = "sk-LOGCHECK-7f3a9"
READ_ONLY = "rk-LOGCHECK-1b2c"
USER = "uh-LOGCHECK-user-5521"
MARKERS = ("scr-LOGCHECK-9", "route-LOGCHECK", "label-LOGCHECK", "err-LOGCHECK", "agent-LOGCHECK", "task-LOGCHECK")


def _http(port: int, method: str, path: str, *, key: str | None = None, body: bytes | None = None,
          headers: dict | None = None) -> tuple[int, bytes]:
    h = dict(headers or {})
    if key:
        h["Authorization"] = f"Bearer {key}"
    if body is not None:
        h.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, headers=h, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_logs_at_the_default_level_hold_no_key_payload_or_user_hash(tmp_path):
    server = start_server("frictionkit", log_path=tmp_path / "server.log", store=f"duckdb:///{tmp_path}/s.duckdb",
                          keys=f"{SECRET_KEY}:acme,{READ_ONLY}:acme:read", cpu=None, log_level="info")
    try:
        t0 = past_ms()
        events = session_events(t0, user=USER, session="sess-LOGCHECK")
        for ev in events:
            ev.update(screenId=MARKERS[0], route=f"/{MARKERS[1]}", elementLabelHash=MARKERS[2])
        events.append(event(t0 + 13_000, "click", MARKERS[0], user=USER, session="sess-LOGCHECK", errorCode=MARKERS[3]))
        good = json.dumps(batch(events, agentId=MARKERS[4])).encode()
        assert _http(server.port, "POST", "/v1/events/batch", key=SECRET_KEY, body=good)[0] == 200
        # Rejections and errors of every kind.
        bad_event = dict(events[0], orgId="globex", extra={"task_name": MARKERS[5], "x": USER})
        assert _http(server.port, "POST", "/v1/events/batch", key=SECRET_KEY,
                     body=json.dumps(batch([bad_event, dict(events[1], ts="yesterday " + USER)])).encode())[0] == 200
        assert _http(server.port, "POST", "/v1/events/batch", key=SECRET_KEY, body=b'{"agentId": "' + USER.encode())[0] == 400
        assert _http(server.port, "POST", "/v1/events/batch", key=SECRET_KEY + "x", body=good)[0] == 401
        assert _http(server.port, "POST", "/v1/events/batch", key=READ_ONLY, body=good)[0] == 403
        for route in READ_ROUTES:
            assert _http(server.port, "GET", f"{route}?orgId=acme&userHash={USER}", key=READ_ONLY)[0] == 200
            assert _http(server.port, "GET", f"{route}?orgId=acme&from={USER}", key=READ_ONLY)[0] == 400
            assert _http(server.port, "GET", f"{route}?orgId=globex", key=READ_ONLY)[0] == 403
        assert _http(server.port, "GET", "/v1/sessions/sess-LOGCHECK?orgId=acme&productId=crm", key=READ_ONLY)[0] == 200
        assert _http(server.port, "GET", f"/v1/sessions/{USER}?orgId=acme&productId=crm", key=READ_ONLY)[0] == 404
        assert _http(server.port, "GET", "/v1/sessions?cursor=" + USER, key=READ_ONLY)[0] == 400
        assert _http(server.port, "GET", "/health")[0] == 200
    finally:
        server.stop()
    log = (tmp_path / "server.log").read_text()
    assert "frictionkit serve: embedded mode" in log  # the log was captured
    for secret in (SECRET_KEY, READ_ONLY, USER, *MARKERS, "sess-LOGCHECK"):
        assert secret not in log, f"{secret!r} appears in the log:\n{log[-3000:]}"


# ------------------------------------------------------------------ CORS


def test_cors_is_off_by_default(api):
    origin = {"Origin": "https://evil.example"}
    r = api.get("/v1/insights/overview", params={"orgId": "acme"}, headers={**auth("k-acme"), **origin})
    assert r.status_code == 200 and not any(h.lower().startswith("access-control-") for h in r.headers)
    pre = api.options("/v1/events/batch", headers={**origin, "Access-Control-Request-Method": "POST",
                                                   "Access-Control-Request-Headers": "authorization,content-type"})
    assert not any(h.lower().startswith("access-control-") for h in pre.headers), pre.headers


def test_cors_only_for_the_configured_origins(tmp_path):
    with client(tmp_path, cors_origins=("https://ok.example",)) as c:
        good = {"Origin": "https://ok.example"}
        r = c.get("/v1/insights/overview", headers={**auth("k-acme"), **good})
        assert r.headers.get("access-control-allow-origin") == "https://ok.example"
        assert r.headers.get("access-control-allow-credentials") is None
        pre = c.options("/v1/events/batch", headers={**good, "Access-Control-Request-Method": "POST",
                                                     "Access-Control-Request-Headers": "authorization,content-type"})
        assert pre.status_code == 200 and pre.headers["access-control-allow-origin"] == "https://ok.example"
        for evil in ("https://evil.example", "https://ok.example.evil.example", "null"):
            r = c.get("/v1/insights/overview", headers={**auth("k-acme"), "Origin": evil})
            assert "access-control-allow-origin" not in r.headers, evil
            pre = c.options("/v1/events/batch", headers={"Origin": evil, "Access-Control-Request-Method": "POST"})
            assert pre.status_code == 400 and "access-control-allow-origin" not in pre.headers


def test_cors_setting_from_the_environment(monkeypatch):
    from frictionkit.api.settings import resolve_settings

    monkeypatch.setenv("FRICTIONKIT_CORS_ORIGINS", "https://a.example, https://b.example")
    assert resolve_settings(api_keys="k").cors_origins == ("https://a.example", "https://b.example")
    monkeypatch.delenv("FRICTIONKIT_CORS_ORIGINS")
    assert resolve_settings(api_keys="k").cors_origins == ()


# ------------------------------------------------------------------ size limits (a real server: uvicorn + h11)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sec-live")
    server = start_server("frictionkit", log_path=tmp / "server.log", store=f"duckdb:///{tmp}/s.duckdb",
                          keys="k-acme:acme", cpu=None)
    yield server
    server.stop()


def _raw(port: int, data: bytes, timeout: float = 10) -> bytes:
    """Send, then read one whole response (headers and Content-Length body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
                head, sep, rest = out.partition(b"\r\n\r\n")
                m = re.search(rb"content-length: *(\d+)", head, re.I)
                if sep and m and len(rest) >= int(m.group(1)):
                    break
        except (socket.timeout, ConnectionResetError):
            pass
        return out


@pytest.mark.parametrize("shape", ["one huge header", "many headers", "huge request line"])
def test_huge_headers_are_refused_at_once(live, shape):
    if shape == "one huge header":
        head = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n"
    elif shape == "many headers":
        head = b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(5000)) + b"\r\n"
    else:
        head = b"GET /health?" + b"q" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    started = time.monotonic()
    reply = _raw(live.port, head)
    assert time.monotonic() - started < 5
    assert reply[:12] in (b"HTTP/1.1 400", b"HTTP/1.1 414", b"HTTP/1.1 431"), reply[:200]
    # The server is still fine.
    assert _raw(live.port, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").startswith(b"HTTP/1.1 200")


def test_headers_within_the_limit_pass(live):
    head = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Ok: " + b"a" * 8_000 + b"\r\nConnection: close\r\n\r\n"
    assert _raw(live.port, head).startswith(b"HTTP/1.1 200")


def test_bodies_have_a_size_limit(live):
    head = (b"POST /v1/events/batch HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k-acme\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n")
    assert _raw(live.port, head % (6 * 1024 * 1024)).startswith(b"HTTP/1.1 413")
    # Chunked, no length declared: counted while reading, refused past 5 MiB.
    chunked = (b"POST /v1/events/batch HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k-acme\r\n"
               b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"%x\r\n%s\r\n" % (1 << 20, b" " * (1 << 20))
    reply = _raw(live.port, chunked + chunk * 6 + b"0\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]


# ------------------------------------------------------------------ the dashboard shows values as text


ODD = 'scr<script>alert("x")</script><img src=x onerror=alert(1)>&amp;"\''


def test_dashboard_escapes_values(api):
    """What the server side can guarantee; tests/test_browser.py renders such a
    screen id in headless chromium and checks it shows as text (no img, no
    script in the page).

    The page at / is static (no value from the store is rendered into HTML by
    the server) under a CSP without inline scripts; values reach it only as
    JSON (application/json, nosniff); and the page's script never parses
    strings as HTML (textContent only: no innerHTML, outerHTML,
    insertAdjacentHTML, document.write, eval)."""
    t0 = past_ms(5)
    evs = [event(t0 + i * 300, "click", ODD, session="odd", user="odd-user", elementLabelHash="b") for i in range(4)]
    assert api.post("/v1/events/batch", json=batch(evs), headers=auth("k-acme")).json()["accepted"] == 4
    r = api.get("/v1/insights/hotspots", params={"orgId": "acme", "productId": "crm"}, headers=auth("k-acme"))
    assert r.headers["content-type"].startswith("application/json")
    assert ODD in [item["screenId"] for item in r.json()["items"]]  # the value itself, as a JSON string
    page = api.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert ODD not in page.text and "<script>alert" not in page.text
    csp = page.headers.get("content-security-policy", "")
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src", 1)[1].split(";")[0]
    static = Path(__file__).resolve().parents[1] / "src" / "frictionkit" / "static"
    for js in (static / "dashboard" / "app.js", static / "sdk" / "sdk.js"):
        source = js.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert sink not in source, f"{js.name} uses {sink}"
        assert re.search(r"textContent", source) or js.name == "sdk.js"
