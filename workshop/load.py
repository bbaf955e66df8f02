"""A load generator for ``POST /v1/events/batch``, and the servers it is aimed at.

Runs in its own process (``python -m workshop.load client ...``), so
it can be pinned to another core than the server. HTTP/1.1 keep-alive over
plain asyncio streams: the request bytes are built once per batch from a
template, nothing else is done per request, so one core sends far more than a
server on the other core can take.

Workload: the generator's realistic traffic (``frictionkit.generate``), cut
into ``batch``-event bodies. Batch ``n`` is template ``n % templates`` with
``n`` written into every ``sessionId`` (``<id>~<n>``) and ``eventId``
(``<run>-<n>-<i>``): every batch is new, self-contained traffic (timestamps in
the generator's past, so the server's watermark closes its sessions at once
and memory stays flat), and the events of any batch can be rebuilt afterwards
from ``(run, seed, n)`` to check what the server acknowledged.

Modes:

* closed loop (``--connections C``): C connections, each sending the next
  batch as soon as the previous answer came (the benchmark: maximum rate);
* open loop (``--phases RATE:SECONDS,...``, rates in events/s): batches sent
  on a fixed schedule whatever the server does, up to ``--max-connections``
  at once; latency counts from the scheduled time, so a slow server cannot
  hide its queueing (no coordinated omission). Each request has a deadline
  (``--timeout``); a request past it is a failure (``timeout``).

The result is one JSON document (per phase: requests, events sent and
acknowledged, answers by code, timeouts, connection errors, p50/p99/max
latency) and optionally the list of acknowledged batch numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import msgspec

PLACEHOLDER = b"@@@@@@@@"
DEFAULT_KEY = "bench-key"


# ----------------------------------------------------------------- workload


POOL_START = "2000-01-03T08:00:00Z"  # a Monday; the generator fills Monday to Friday
ROUND_DAYS = 7


class Workload:
    """Batch ``n`` is template ``n % templates`` of round ``n // templates``,
    with ``n`` in its session and event ids and its dates moved by
    ``ROUND_DAYS`` per round: event time keeps moving forward (as live
    traffic does, so a store's time-range pruning works as in production)
    and stays in the past (the server closes the sessions at once)."""

    def __init__(self, *, run: str, seed: int = 7, batch: int = 100, templates: int = 200) -> None:
        from frictionkit.generate import iter_events

        self.run, self.seed, self.batch = run, seed, batch
        wanted = templates * batch
        events: list[dict] = []
        sessions = max(10, wanted // 35)
        while len(events) < wanted:
            events = list(iter_events(sessions=sessions, seed=seed, start=POOL_START))
            sessions *= 2
        events = events[:wanted]
        enc = msgspec.json.Encoder()
        ph = PLACEHOLDER.decode()
        self.templates: list[bytes] = []
        self.dates: list[list[date]] = []
        for t in range(templates):
            chunk = []
            days: list[str] = []
            for i, ev in enumerate(events[t * batch:(t + 1) * batch]):
                ev = dict(ev)
                ev["sessionId"] = f"{ev['sessionId'][:100]}~{ph}"
                ev["eventId"] = f"{run}-{ph}-{i:03d}"
                day = ev["ts"][:10]
                if day not in days:
                    days.append(day)
                ev["ts"] = f"@D{days.index(day)}@{ev['ts'][10:]}"
                chunk.append(ev)
            self.templates.append(enc.encode({"agentId": "bench-agent", "sdkVersion": "1.0.0", "events": chunk}))
            self.dates.append([date.fromisoformat(d) for d in days])

    def body(self, n: int) -> bytes:
        t, shift = n % len(self.templates), timedelta(days=ROUND_DAYS * (n // len(self.templates)))
        out = self.templates[t].replace(PLACEHOLDER, b"%08d" % n)
        for k, day in enumerate(self.dates[t]):
            out = out.replace(b"@D%d@" % k, (day + shift).isoformat().encode())
        return out

    def events(self, n: int) -> list[dict]:
        return msgspec.json.decode(self.body(n))["events"]

    def event_ids(self, n: int) -> list[str]:
        return [f"{self.run}-{n:08d}-{i:03d}" for i in range(self.batch)]


# ----------------------------------------------------------------- client


@dataclass
class PhaseStats:
    name: str
    target_events_per_s: float | None
    seconds: float = 0.0
    requests: int = 0
    events_sent: int = 0
    events_acked: int = 0
    codes: dict[str, int] = field(default_factory=dict)
    timeouts: int = 0
    connection_errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    start: float = 0.0  # perf_counter at the phase start
    timeline: dict[int, dict[str, int]] = field(default_factory=dict)  # second of the phase (by send time) -> codes

    def record(self, code: str, latency_ms: float, events: int, acked: int, sent_at: float = 0.0) -> None:
        second = self.timeline.setdefault(max(0, int(sent_at - self.start)), {})
        second[code] = second.get(code, 0) + 1
        self.requests += 1
        self.events_sent += events
        self.events_acked += acked
        self.codes[code] = self.codes.get(code, 0) + 1
        self.latencies_ms.append(latency_ms)

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies_ms)

        def pct(p: float) -> float | None:
            return round(lat[min(len(lat) - 1, int(p * len(lat)))], 2) if lat else None

        ok = self.codes.get("200", 0)
        return {"phase": self.name, "target_events_per_s": self.target_events_per_s, "seconds": round(self.seconds, 2),
                "requests": self.requests, "events_sent": self.events_sent, "events_acked": self.events_acked,
                "requests_per_s": round(self.requests / self.seconds, 1) if self.seconds else 0.0,
                "acked_events_per_s": round(self.events_acked / self.seconds, 1) if self.seconds else 0.0,
                "ok_requests": ok, "codes": dict(sorted(self.codes.items())), "timeouts": self.timeouts,
                "connection_errors": self.connection_errors, "error_kinds": self.error_kinds,
                "p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": round(lat[-1], 2) if lat else None,
                "timeline": {str(k): v for k, v in sorted(self.timeline.items())}}


KEEPALIVE_REUSE_S = 3.0  # uvicorn closes idle connections after 5 s: never reuse one idle that long


class _Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.idle_since = time.monotonic()

    def close(self) -> None:
        self.writer.close()


class Client:
    def __init__(self, url: str, key: str, workload: Workload, *, timeout_s: float, max_connections: int,
                 gzip_bodies: bool = False) -> None:
        rest = url.split("://", 1)[1]
        hostport, _, path = rest.partition("/")
        self.host, _, port = hostport.partition(":")
        self.port = int(port or 80)
        self.path = "/" + (path or "v1/events/batch")
        self.key = key
        self.workload = workload
        self.timeout_s = timeout_s
        self.max_connections = max_connections
        self.idle: list[_Conn] = []
        self.open = 0
        self.cond: asyncio.Condition | None = None
        self.acked: list[int] = []
        self.head = (f"POST {self.path} HTTP/1.1\r\nHost: {hostport}\r\nAuthorization: Bearer {key}\r\n"
                     f"Content-Type: application/json\r\n").encode()

    async def _acquire(self) -> _Conn:
        assert self.cond is not None
        async with self.cond:
            while True:
                while self.idle and time.monotonic() - self.idle[0].idle_since > KEEPALIVE_REUSE_S:
                    self.idle.pop(0).close()  # the oldest first; pop() below takes the freshest
                    self.open -= 1
                if self.idle or self.open < self.max_connections:
                    break
                await self.cond.wait()
            if self.idle:
                return self.idle.pop()
            self.open += 1
        try:
            reader, writer = await asyncio.open_connection(self.host, self.port)
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return _Conn(reader, writer)
        except BaseException:
            await self._release(None)
            raise

    async def _release(self, conn: _Conn | None) -> None:
        assert self.cond is not None
        async with self.cond:
            if conn is None:
                self.open -= 1
            else:
                conn.idle_since = time.monotonic()
                self.idle.append(conn)
            self.cond.notify()

    async def _exchange(self, conn: _Conn, body: bytes) -> tuple[int, bytes, bool]:
        conn.writer.write(self.head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        await conn.writer.drain()
        head = await conn.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length, close = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        payload = await conn.reader.readexactly(length) if length else b""
        return status, payload, close

    async def send(self, n: int, stats: PhaseStats, started: float) -> None:
        body = self.workload.body(n)
        conn: _Conn | None = None
        code = "error"
        acked = 0
        try:
            async with asyncio.timeout(self.timeout_s):
                conn = await self._acquire()
                status, payload, close = await self._exchange(conn, body)
            code = str(status)
            if status == 200:
                acked = int(msgspec.json.decode(payload)["accepted"])
                if acked == self.workload.batch:
                    self.acked.append(n)
            if close:
                conn.close()
                conn = None
                await self._release(None)
            else:
                await self._release(conn)
                conn = None
        except TimeoutError:
            code = "timeout"
            stats.timeouts += 1
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, IndexError) as err:
            code = "connection_error"
            stats.connection_errors += 1
            stats.error_kinds[type(err).__name__] = stats.error_kinds.get(type(err).__name__, 0) + 1
        finally:
            if conn is not None:  # broken or timed out mid-exchange: never reuse
                conn.close()
                await self._release(None)
        stats.record(code, (time.perf_counter() - started) * 1000, self.workload.batch, acked, started)

    async def closed_loop(self, connections: int, seconds: float, first: int, name: str = "closed") -> tuple[PhaseStats, int]:
        self.cond = asyncio.Condition()
        self.max_connections = max(self.max_connections, connections)
        stats = PhaseStats(name, None, start=time.perf_counter())
        counter = [first]
        deadline = time.perf_counter() + seconds
        t0 = time.perf_counter()

        async def worker() -> None:
            while time.perf_counter() < deadline:
                n = counter[0]
                counter[0] += 1
                await self.send(n, stats, time.perf_counter())

        await asyncio.gather(*(worker() for _ in range(connections)))
        stats.seconds = time.perf_counter() - t0
        return stats, counter[0]

    async def open_loop(self, phases: list[tuple[float, float]], first: int,
                        names: list[str] | None = None) -> tuple[list[PhaseStats], int]:
        self.cond = asyncio.Condition()
        n = first
        out = []
        pending: set[asyncio.Task] = set()
        for index, (events_per_s, seconds) in enumerate(phases):
            start = time.perf_counter()
            stats = PhaseStats(names[index] if names else f"{events_per_s:.0f}/s", events_per_s, start=start)
            interval = self.workload.batch / events_per_s
            k = 0
            while True:
                due = start + k * interval
                if due - start >= seconds:
                    break
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                task = asyncio.create_task(self.send(n, stats, due))
                pending.add(task)
                task.add_done_callback(pending.discard)
                n += 1
                k += 1
            stats.seconds = seconds
            out.append(stats)
        if pending:
            await asyncio.gather(*pending)
        return out, n

    def close(self) -> None:
        for conn in self.idle:
            conn.close()
        self.idle.clear()


def run_client(args: argparse.Namespace) -> dict[str, Any]:
    workload = Workload(run=args.run, seed=args.seed, batch=args.batch, templates=args.templates)
    client = Client(args.url, args.key, workload, timeout_s=args.timeout, max_connections=args.max_connections)

    async def main() -> tuple[list[PhaseStats], int]:
        try:
            if args.phases:
                phases = [(float(r), float(s)) for r, s in (p.split(":") for p in args.phases.split(","))]
                names = args.names.split(",") if args.names else None
                return await client.open_loop(phases, args.first, names)
            first = args.first
            if args.warmup:
                _, first = await client.closed_loop(args.connections, args.warmup, first)
                client.acked.clear()
            stats, nxt = await client.closed_loop(args.connections, args.seconds, first)
            return [stats], nxt
        finally:
            client.close()

    if args.ready_file:
        Path(args.ready_file).write_text("ready")
    phases, next_batch = asyncio.run(main())
    if args.acked_out:
        Path(args.acked_out).write_text("\n".join(map(str, sorted(client.acked))))
    return {"run": args.run, "seed": args.seed, "batch": args.batch, "templates": args.templates,
            "next_batch": next_batch, "phases": [p.summary() for p in phases]}


# ----------------------------------------------------------------- servers


async def raw_app(scope: dict, receive: Any, send: Any) -> None:
    """The reference: an ASGI app that only decodes the body (msgspec, to Python
    objects) and answers in the ingestion shape. No auth, validation or store."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    chunks = []
    more = True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(chunks)
    if scope["method"] == "POST":
        try:
            accepted = len(msgspec.json.decode(body)["events"])
            code, payload = 200, b'{"status":"ok","accepted":%d,"rejected":0,"errors":[]}' % accepted
        except Exception:  # noqa: BLE001
            code, payload = 400, b'{"status":"error","accepted":0,"rejected":0,"errors":["malformed"]}'
    else:
        code, payload = 200, b'{"status":"ok"}'
    await send({"type": "http.response.start", "status": code,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})


def _serve_raw(args: argparse.Namespace) -> None:
    import uvicorn

    from frictionkit.api.app import MAX_HEADER_BYTES

    # The same uvicorn settings as run_server.
    uvicorn.run(raw_app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False,
                http="h11", h11_max_incomplete_event_size=MAX_HEADER_BYTES)


def _serve_frictionkit(args: argparse.Namespace) -> None:
    """``frictionkit serve`` (run_server), with the events.raw topic settable."""
    from frictionkit.api.app import run_server
    from frictionkit.api.settings import resolve_settings

    settings = resolve_settings(port=args.port, brokers=args.brokers or None, store_dsn=args.store,
                                api_keys=args.keys)
    if args.topic:
        settings.raw_topic = args.topic
    if os.environ.get("FRICTIONKIT_BENCH_ACKS") == "0":
        # bench-ingest's "Kafka acks off": the leader's ack is not awaited (idempotence needs acks=all).
        settings.producer_overrides = {"acks": 0, "enable.idempotence": False}
    run_server(settings, log_level=args.log_level)


def process_cpu_s(pid: int, *, missing: float = float("nan")) -> float:
    """CPU seconds a live process used so far, all threads (user + system),
    from /proc (Linux); ``missing`` when it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return missing


@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/events/batch"

    def cpu_s(self) -> float:
        """CPU seconds the server process used so far, all threads (user + system)."""
        return process_cpu_s(self.proc.pid, missing=0.0)

    def rss_mb(self) -> float:
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


# The workshop is not installed with the package: a child process finds it
# (``-m workshop.load``) through PYTHONPATH, whatever its working directory.
WORKSHOP_ROOT = str(Path(__file__).resolve().parents[1])


def workshop_env(env: dict[str, str]) -> dict[str, str]:
    """``env`` with the repository root (which holds ``workshop/``) on PYTHONPATH."""
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    return {**env, "PYTHONPATH": os.pathsep.join([WORKSHOP_ROOT, *paths])}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pin(cpu: int | None) -> None:
    if cpu is not None and hasattr(os, "sched_setaffinity") and cpu < (os.cpu_count() or 1):
        os.sched_setaffinity(0, {cpu})


def start_server(kind: str, *, log_path: Path, cpu: int | None = 0, store: str | None = None,
                 brokers: str | None = None, topic: str | None = None, keys: str = DEFAULT_KEY,
                 env: dict[str, str] | None = None, ready_timeout_s: float = 60, log_level: str = "warning") -> Server:
    """``kind``: ``raw`` (the reference) or ``frictionkit``. Rate limit off
    unless ``env`` sets one. Waits until /health answers."""
    port = free_port()
    cmd = [sys.executable, "-m", "workshop.load", "serve-" + kind, "--port", str(port)]
    if kind == "frictionkit":
        cmd += ["--keys", keys, "--log-level", log_level]
        if store:
            cmd += ["--store", store]
        if brokers:
            cmd += ["--brokers", brokers]
        if topic:
            cmd += ["--topic", topic]
    full_env = workshop_env({**os.environ, "FRICTIONKIT_RATE_LIMIT": "0", **(env or {})})
    for name in ("API_KEYS", "KAFKA_BROKERS_FOR_SERVE"):
        full_env.pop(name, None)
    log = open(log_path, "ab")
    proc = subprocess.Popen(cmd, env=full_env, stdout=log, stderr=subprocess.STDOUT,
                            preexec_fn=(lambda: pin(cpu)) if cpu is not None else None)
    log.close()
    server = Server(proc, port, log_path)
    deadline = time.monotonic() + ready_timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as resp:
                if resp.status == 200:
                    return server
        except OSError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"server not ready after {ready_timeout_s}s: {log_path.read_text()[-2000:]}")


class RssSampler:
    """Samples a process's RSS every ``interval_s`` on a thread."""

    def __init__(self, server: Server, interval_s: float = 0.25) -> None:
        self.server = server
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, args=(interval_s,), daemon=True)
        self._thread.start()

    def _loop(self, interval_s: float) -> None:
        t0 = time.monotonic()
        while not self._stop.wait(interval_s):
            self.samples.append((time.monotonic() - t0, self.server.rss_mb()))

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        values = [v for _, v in self.samples if v]
        return {"start_mb": round(values[0], 1) if values else 0.0, "peak_mb": round(max(values), 1) if values else 0.0,
                "end_mb": round(values[-1], 1) if values else 0.0}


def run_client_process(url: str, *, run: str, out: Path, cpu: int | None = 1, key: str = DEFAULT_KEY,
                       connections: int | None = None, seconds: float | None = None, warmup: float = 0,
                       phases: str | None = None, names: str | None = None, first: int = 0, seed: int = 7,
                       templates: int = 200, timeout: float = 10.0, max_connections: int = 256,
                       acked_out: Path | None = None, ready_file: Path | None = None) -> dict[str, Any]:
    """The load generator in its own process (pinned to ``cpu``); returns its JSON
    result. ``ready_file`` is written once its workload is built, just before
    the first request."""
    cmd = [sys.executable, "-m", "workshop.load", "client", "--url", url, "--key", key, "--run", run,
           "--out", str(out), "--first", str(first), "--seed", str(seed), "--templates", str(templates),
           "--timeout", str(timeout), "--max-connections", str(max_connections)]
    if phases:
        cmd += ["--phases", phases] + (["--names", names] if names else [])
    else:
        cmd += ["--connections", str(connections or 16), "--seconds", str(seconds or 10), "--warmup", str(warmup)]
    if acked_out:
        cmd += ["--acked-out", str(acked_out)]
    if ready_file:
        cmd += ["--ready-file", str(ready_file)]
    proc = subprocess.run(cmd, preexec_fn=(lambda: pin(cpu)) if cpu is not None else None,
                          capture_output=True, text=True, env=workshop_env(dict(os.environ)))
    if proc.returncode != 0:
        raise RuntimeError(f"load generator failed: {proc.stderr[-3000:]}")
    return json.loads(out.read_text())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m workshop.load")
    sub = parser.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("client")
    c.add_argument("--url", required=True)
    c.add_argument("--key", default=DEFAULT_KEY)
    c.add_argument("--run", required=True, help="run id, part of every eventId")
    c.add_argument("--seed", type=int, default=7)
    c.add_argument("--batch", type=int, default=100)
    c.add_argument("--templates", type=int, default=200)
    c.add_argument("--first", type=int, default=0, help="first batch number")
    c.add_argument("--connections", type=int, default=16)
    c.add_argument("--seconds", type=float, default=10)
    c.add_argument("--warmup", type=float, default=0)
    c.add_argument("--phases", help="open loop: EVENTS_PER_S:SECONDS,...")
    c.add_argument("--names")
    c.add_argument("--timeout", type=float, default=10.0)
    c.add_argument("--max-connections", type=int, default=256)
    c.add_argument("--out", required=True)
    c.add_argument("--acked-out")
    c.add_argument("--ready-file")
    r = sub.add_parser("serve-raw")
    r.add_argument("--port", type=int, required=True)
    f = sub.add_parser("serve-frictionkit")
    f.add_argument("--port", type=int, required=True)
    f.add_argument("--store")
    f.add_argument("--brokers")
    f.add_argument("--topic")
    f.add_argument("--keys", default=DEFAULT_KEY)
    f.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    if args.cmd == "client":
        result = run_client(args)
        Path(args.out).write_text(json.dumps(result, indent=1))
    elif args.cmd == "serve-raw":
        _serve_raw(args)
    else:
        _serve_frictionkit(args)


if __name__ == "__main__":
    main()
