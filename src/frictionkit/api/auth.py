"""API keys (docs/api.md, "Authentication"): each bound to orgs and scopes, kept only as SHA-256
digests and compared in constant time.

``API_KEYS`` (seed compatible), comma separated entries::

    key                      every org, scopes ingest+read
    key:acme                 org acme, both scopes
    key:acme|globex:read     orgs acme and globex, read only
    key:*:ingest             every org, ingest only

A keys file (JSON or TOML) lists ``keys`` entries with ``key`` (or its
``sha256`` hex digest, so the file need not hold secrets), ``orgs`` (a list,
or ``"*"``), ``scopes`` and an optional ``name`` used in logs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCOPES = frozenset({"ingest", "read"})


class KeyConfigError(ValueError):
    """The key configuration cannot be used; the message says where."""


@dataclass(frozen=True)
class ApiKey:
    name: str  # what logs and rate-limit buckets call the key: never the key itself
    digest: bytes
    orgs: frozenset[str] | None  # None: every org
    scopes: frozenset[str]
    product: str | None = None  # set: a PostHog project token, writing to this product of its one org

    def permits_org(self, org_id: str) -> bool:
        return self.orgs is None or org_id in self.orgs


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


class KeyRing:
    def __init__(self, keys: list[ApiKey]) -> None:
        seen: set[bytes] = set()
        for k in keys:
            if k.digest in seen:
                raise KeyConfigError(f"API key {k.name} is configured twice")
            seen.add(k.digest)
        self.keys = list(keys)

    def __len__(self) -> int:
        return len(self.keys)

    def authenticate(self, presented: str | None) -> ApiKey | None:
        if not presented:
            return None
        wanted = digest(presented)
        found = None
        # Every stored digest is compared, so the time taken says nothing
        # about which key (if any) matched.
        for k in self.keys:
            if hmac.compare_digest(k.digest, wanted):
                found = k
        return found


def _orgs(value: Any, where: str) -> frozenset[str] | None:
    if value is None or value == "*" or value == ["*"]:
        return None
    items = value.split("|") if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(o, str) and o.strip() for o in items):
        raise KeyConfigError(f"{where}: orgs must be '*' or a non-empty list of org ids")
    return frozenset(o.strip() for o in items)


def _scopes(value: Any, where: str) -> frozenset[str]:
    if value is None:
        return SCOPES
    items = value.split("+") if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise KeyConfigError(f"{where}: scopes must be a non-empty list of ingest, read")
    scopes = frozenset(s.strip() for s in items)
    unknown = scopes - SCOPES
    if unknown:
        raise KeyConfigError(f"{where}: unknown scope {sorted(unknown)[0]!r} (use ingest, read)")
    return scopes


def parse_api_keys(text: str) -> list[ApiKey]:
    """The ``API_KEYS`` format (see the module docstring)."""
    keys = []
    for number, entry in enumerate((e.strip() for e in text.split(",")), start=1):
        if not entry:
            continue
        where = f"API_KEYS entry {number}"
        parts = entry.split(":")
        if parts[0] == "posthog":
            keys.append(_project_token(parts[1:], number))
            continue
        if len(parts) > 3 or not parts[0]:
            raise KeyConfigError(f"{where}: expected key, key:org or key:org:scopes")
        orgs = _orgs(parts[1] if len(parts) > 1 else None, where)
        scopes = _scopes(parts[2] if len(parts) > 2 else None, where)
        keys.append(ApiKey(name=f"env#{number}", digest=digest(parts[0]), orgs=orgs, scopes=scopes))
    return keys


def _project_token(parts: list[str], number: int) -> ApiKey:
    if len(parts) != 3 or not all(p.strip() for p in parts):
        raise KeyConfigError(f"API_KEYS entry {number}: expected posthog:TOKEN:ORG:PRODUCT")
    token, org, product = (p.strip() for p in parts)
    return ApiKey(name=f"posthog#{number}", digest=digest(token), orgs=frozenset({org}), scopes=frozenset({"ingest"}),
                  product=product)


def _file_project_token(entry: dict, where: str, number: int, key_digest: bytes) -> ApiKey:
    unknown = set(entry) - {"posthog_token", "sha256", "org", "product", "name"}
    if unknown:
        raise KeyConfigError(f"{where}: unknown field {sorted(unknown)[0]!r} for a PostHog project token")
    org, product = entry.get("org"), entry.get("product")
    if not (isinstance(org, str) and org.strip() and isinstance(product, str) and product.strip()):
        raise KeyConfigError(f"{where}: a PostHog project token needs 'org' and 'product'")
    return ApiKey(name=str(entry.get("name") or f"posthog-file#{number}"), digest=key_digest,
                  orgs=frozenset({org.strip()}), scopes=frozenset({"ingest"}), product=product.strip())


def load_keys_file(path: str) -> list[ApiKey]:
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as err:
        raise KeyConfigError(f"cannot read keys file {path}: {err.strerror}") from None
    try:
        doc = tomllib.loads(raw.decode()) if p.suffix.lower() == ".toml" else json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise KeyConfigError(f"keys file {path} is not valid {'TOML' if p.suffix.lower() == '.toml' else 'JSON'}: {err}") from None
    entries = doc.get("keys") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise KeyConfigError(f"keys file {path}: expected a top-level 'keys' list")
    keys = []
    for number, entry in enumerate(entries, start=1):
        where = f"keys file {path}, entry {number}"
        if not isinstance(entry, dict):
            raise KeyConfigError(f"{where}: expected an object")
        if "posthog_token" in entry or "product" in entry:
            if isinstance(entry.get("posthog_token"), str) and entry["posthog_token"].strip():
                token_digest = digest(entry["posthog_token"].strip())
            else:
                token_digest = _sha256_field(entry, where, "'posthog_token' or 'sha256'")
            keys.append(_file_project_token(entry, where, number, token_digest))
            continue
        unknown = set(entry) - {"key", "sha256", "orgs", "scopes", "name"}
        if unknown:
            raise KeyConfigError(f"{where}: unknown field {sorted(unknown)[0]!r}")
        if isinstance(entry.get("key"), str) and entry["key"]:
            key_digest = digest(entry["key"])
        else:
            key_digest = _sha256_field(entry, where)
        name = entry.get("name") or f"file#{number}"
        keys.append(ApiKey(name=str(name), digest=key_digest, orgs=_orgs(entry.get("orgs", "*"), where),
                           scopes=_scopes(entry.get("scopes"), where)))
    return keys


def _sha256_field(entry: dict, where: str, needs: str = "'key' or 'sha256'") -> bytes:
    if not isinstance(entry.get("sha256"), str):
        raise KeyConfigError(f"{where}: needs {needs}")
    try:
        key_digest = bytes.fromhex(entry["sha256"])
    except ValueError:
        key_digest = b""
    if len(key_digest) != 32:
        raise KeyConfigError(f"{where}: sha256 must be 64 hex digits")
    return key_digest


def generate_dev_key() -> tuple[str, ApiKey]:
    """A random key for a server started with no keys configured."""
    key = "fk_dev_" + secrets.token_urlsafe(24)
    return key, ApiKey(name="dev", digest=digest(key), orgs=None, scopes=SCOPES)


def bearer_token(authorization: str | None, api_key_header: str | None = None) -> str | None:
    """``Authorization: Bearer <key>``; ``X-API-Key: <key>`` is accepted too."""
    if authorization:
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        return None
    return api_key_header.strip() if api_key_header and api_key_header.strip() else None
