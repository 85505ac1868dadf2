"""One rate limit for all the workers that call one account (HubSpot's per-10-second one).

A rolling window, as HubSpot counts it: a call may go when fewer than `limit` calls went
in the last `window` seconds. The account can also be blocked until a moment (HubSpot
answered 429: every worker waits, not only the one that was told).

Where the count lives:
- Redis, when the cache is Redis (CACHE_URL=redis://…, production): one Lua script
  checks and counts atomically, for every worker on every machine.
- Otherwise (make run: one machine, several gunicorn and Celery processes, whose
  default cache is per process) a small file in VAR_DIR, read and written under an
  exclusive lock (flock), so those processes share it too.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
import uuid
from functools import cache
from pathlib import Path

from django.conf import settings

_SCRIPT = """
local key, blocked_key = KEYS[1], KEYS[2]
local limit, window, member = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local blocked = tonumber(redis.call('GET', blocked_key) or '0')
if blocked > now then return tostring(blocked - now) end
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) < limit then
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, math.ceil(window * 1000) + 1000)
  return '0'
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return tostring(tonumber(oldest[2]) + window - now)
"""

_BLOCK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local until_ = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ > current then
  redis.call('SET', KEYS[1], tostring(until_), 'PX', math.ceil(tonumber(ARGV[1]) * 1000) + 1000)
end
return 1
"""


def _redis_url() -> str | None:
    backend = settings.CACHES["default"]
    if backend["BACKEND"].endswith("RedisCache"):
        location = backend["LOCATION"]
        return location[0] if isinstance(location, list | tuple) else location
    return None


@cache
def _redis(url: str):
    import redis

    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    return client, client.register_script(_SCRIPT), client.register_script(_BLOCK)


def _file(name: str) -> Path:
    folder = Path(settings.VAR_DIR) / "rate-limits"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{name}.json"


@contextlib.contextmanager
def _locked(name: str):
    """The window's state, read and written back under an exclusive lock."""
    descriptor = os.open(_file(name), os.O_RDWR | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "r+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            raw = handle.read()
            try:
                state = json.loads(raw) if raw else {}
            except ValueError:
                state = {}
            state.setdefault("calls", [])
            state.setdefault("blocked_until", 0.0)
            yield state
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps(state))
            handle.flush()
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def take(name: str, *, limit: int, window: float) -> float:
    """Count one call if it may go now and return 0; else the seconds until it may."""
    url = _redis_url()
    if url:
        _, script, _ = _redis(url)
        return float(
            script(
                keys=[f"ratelimit:{name}", f"ratelimit:{name}:blocked"],
                args=[limit, window, uuid.uuid4().hex],
            )
        )
    with _locked(name) as state:
        now = time.time()
        if state["blocked_until"] > now:
            return state["blocked_until"] - now
        calls = [t for t in state["calls"] if t > now - window]
        if len(calls) < limit:
            calls.append(now)
            state["calls"] = calls
            return 0.0
        state["calls"] = calls
        return min(calls) + window - now


def block(name: str, seconds: float) -> None:
    """Nobody calls this account for `seconds` (the service said so)."""
    url = _redis_url()
    if url:
        _, _, script = _redis(url)
        script(keys=[f"ratelimit:{name}:blocked"], args=[seconds])
        return
    with _locked(name) as state:
        state["blocked_until"] = max(state["blocked_until"], time.time() + seconds)


def reset(name: str) -> None:
    """Forget the account's window (tests, and a new connection)."""
    url = _redis_url()
    if url:
        client, _, _ = _redis(url)
        client.delete(f"ratelimit:{name}", f"ratelimit:{name}:blocked")
        return
    with _locked(name) as state:
        state["calls"], state["blocked_until"] = [], 0.0
