"""Shared by the tests/test_posthog_*.py files: the request bodies posthog-js
produced (fixtures/posthog/, recorded in Chromium) and helpers to read them."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "posthog"
TOKEN = "phc_test_token"  # the token the recording page used


def fixture(name: str) -> dict[str, Any]:
    doc = json.loads((FIXTURES / f"{name}.json").read_text())
    doc["body"] = base64.b64decode(doc["body_b64"])
    doc["query_dict"] = {k: v[0] for k, v in parse_qs(doc["query"]).items()}
    return doc


def fixture_names() -> list[str]:
    return sorted(p.stem for p in FIXTURES.glob("*.json"))


def plain_batch(name: str) -> dict[str, Any]:
    """The fixture's JSON document, however it was encoded (read independently
    of the code under test: gzip, base64 form; lz64 fixtures have a JSON twin)."""
    doc = fixture(name)
    body = doc["body"]
    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    if doc["content_type"] == "application/x-www-form-urlencoded":
        body = base64.b64decode(parse_qs(body.decode())["data"][0])
    return json.loads(body)
