"""Account leases shared by machines: Redis (``HAILUOAI_LEASE_URL``, the ``cluster`` extra).

Keys, all under ``g4f_hailuo:leases:``:

- ``lease:<key>``: the random token of the request holding the account, set ``PX <ttl>`` and
  renewed every third of the ttl while its reply streams; given back with a compare-and-delete
  script. A machine that dies (or loses its network) frees its accounts within the ttl.
- ``queue``: the waiting requests (a sorted set, by arrival); ``want:<id>``: the accounts one
  wants, also its sign of life: set ``PX <ttl>`` and renewed at each look. A request whose
  ``want`` expired is dropped from the queue by the next look of anyone.
- ``retired``: ``key -> "<unix time> <reason>"``, lapsing after a day; ``retired:version``,
  bumped at each change, tells a process to read it again.

Taking an account (or queueing for one) is one script, atomic in Redis: the first free account
that is not retired and that no live request queued earlier wants. Each request has a
connection of its own for as long as it waits or holds an account: no connection outlives the
event loop it was made on (g4f's sync API runs a new loop per call).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from g4f import debug
from g4f.errors import ProviderNotWorkingError
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from g4f_hailuo.accounts.leases import RETIRED_FOR, Changes, LeaseBackend, LeaseSession

__all__ = ["POLL_INTERVAL", "PREFIX", "RedisLeases"]

PREFIX = "g4f_hailuo:leases:"
POLL_INTERVAL = 0.05  # seconds between two looks of a queued request (a release here wakes it at once)
MIN_TTL = 1.0

logger = logging.getLogger("g4f_hailuo")

# ARGV: prefix, request id, token, ttl ms, now (s), lapse (s), n, n free keys (best first), wanted keys.
TAKE = """
local p, me, token, ttl, now, lapse = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
local n = tonumber(ARGV[7])
local queue, version = p .. 'queue', redis.call('GET', p .. 'retired:version') or '0'
local queued = redis.call('PEXPIRE', p .. 'want:' .. me, ttl) == 1
local ahead = {}
for _, other in ipairs(redis.call('ZRANGE', queue, 0, -1)) do
  if other == me then break end
  if redis.call('EXISTS', p .. 'want:' .. other) == 1 then
    ahead[#ahead + 1] = p .. 'want:' .. other
  else
    redis.call('ZREM', queue, other)
  end
end
for i = 8, 7 + n do
  local key = ARGV[i]
  local retired = redis.call('HGET', p .. 'retired', key)
  retired = retired and tonumber(string.match(retired, '^%S+') or '')
  retired = retired and now - retired < lapse
  if not retired and redis.call('EXISTS', p .. 'lease:' .. key) == 0 then
    local wanted = false
    for _, want in ipairs(ahead) do
      if redis.call('SISMEMBER', want, key) == 1 then
        wanted = true
        break
      end
    end
    if not wanted then
      redis.call('SET', p .. 'lease:' .. key, token, 'PX', ttl)
      redis.call('ZREM', queue, me)
      redis.call('DEL', p .. 'want:' .. me)
      return {key, version}
    end
  end
end
if not queued then
  redis.call('ZADD', queue, redis.call('INCR', p .. 'seq'), me)
  redis.call('SADD', p .. 'want:' .. me, unpack(ARGV, 8 + n))
  redis.call('PEXPIRE', p .. 'want:' .. me, ttl)
end
return {'', version}
"""
# ARGV: prefix, key, token, ttl ms. 1 while the lease is still this request's.
RENEW = """
if redis.call('GET', ARGV[1] .. 'lease:' .. ARGV[2]) == ARGV[3] then
  return redis.call('PEXPIRE', ARGV[1] .. 'lease:' .. ARGV[2], ARGV[4])
end
return 0
"""
# ARGV: prefix, key, token.
RELEASE = """
if redis.call('GET', ARGV[1] .. 'lease:' .. ARGV[2]) == ARGV[3] then
  return redis.call('DEL', ARGV[1] .. 'lease:' .. ARGV[2])
end
return 0
"""


def _still_cancelled() -> None:
    """Raise the cancellation of this task that a command may have swallowed (Python 3.11+)."""
    cancelling = getattr(asyncio.current_task(), "cancelling", None)
    if cancelling is not None and cancelling():
        raise asyncio.CancelledError


def shown(url: str) -> str:
    """The URL without its password (an error message may show it)."""
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


class RedisLeases(LeaseBackend):
    """The leases in one Redis, for this process."""

    poll_interval = POLL_INTERVAL

    def __init__(self, url: str, ttl: float) -> None:
        super().__init__()
        self.url = url
        self.ttl = max(ttl, MIN_TTL)
        self.owner = secrets.token_hex(6)  # this process, in the request ids
        self._ids = itertools.count(1)
        self._version: str | None = None
        # A connection or a command gives up in time: never longer than a renewal may take.
        self._timeout = max(MIN_TTL / 2, min(5.0, self.ttl / 3))

    def session(self) -> RedisSession:
        return RedisSession(self, f"{self.owner}:{next(self._ids)}")

    def client(self) -> Redis:
        return Redis.from_url(
            self.url,
            single_connection_client=True,
            decode_responses=True,
            socket_connect_timeout=self._timeout,
            socket_timeout=self._timeout,
            retry=Retry(NoBackoff(), 0),
        )

    def unreachable(self, error: BaseException) -> ProviderNotWorkingError:
        return ProviderNotWorkingError(
            f"HailuoAI: the account leases' Redis at {shown(self.url)} did not answer"
            f" ({type(error).__name__}: {error}); check HAILUOAI_LEASE_URL and that Redis runs"
        )

    async def sync(self, client: Redis, version: str) -> None:
        """Read the retired accounts again when their version changed."""
        if version == self._version:
            return
        stored = await client.hgetall(PREFIX + "retired")  # (decode_responses: str)
        now, retired, lapsed = time.time(), {}, []
        for key, value in stored.items():
            when, _, reason = str(value).partition(" ")
            try:
                fresh = now - float(when) < RETIRED_FOR
            except ValueError:
                fresh = False
            if fresh:
                retired[str(key)] = reason
            else:
                lapsed.append(key)
        if lapsed:  # (the take script ignores them already)
            await client.hdel(PREFIX + "retired", *lapsed)
        self._version = version
        self._saw(retired)

    async def record(self, changes: Changes) -> None:
        client = self.client()
        try:
            async with client.pipeline(transaction=True) as pipe:
                for key, reason in changes.items():
                    if reason is None:
                        pipe.hdel(PREFIX + "retired", key)
                    else:
                        pipe.hset(PREFIX + "retired", key, f"{time.time():.0f} {reason}")
                pipe.incr(PREFIX + "retired:version")
                await pipe.execute()
        except RedisError as error:
            raise self.unreachable(error) from None
        finally:
            await client.aclose()


class RedisSession(LeaseSession):
    """One request in the shared queue, then its lease; one connection throughout."""

    def __init__(self, backend: RedisLeases, wid: str) -> None:
        self.backend: RedisLeases = backend
        self._wid = wid
        self._token = secrets.token_hex(16)
        self._client: Redis | None = None
        self._scripts: dict[str, Any] = {}
        self._key: str | None = None
        self._queued = False
        self._renewal: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None

    def _script(self, client: Redis, script: str) -> Any:
        if script not in self._scripts:
            self._scripts[script] = client.register_script(script)
        return self._scripts[script]

    async def _run(self, script: str, *args: object, client: Redis | None = None) -> Any:
        if client is None:
            if self._client is None:
                self._client = self.backend.client()
            client = self._client
        try:
            result = await self._script(client, script)(args=[PREFIX, *args])
        except RedisError as error:
            _still_cancelled()
            raise self.backend.unreachable(error) from None
        _still_cancelled()
        return result

    async def take(self, free: Sequence[str], wanted: Sequence[str], deadline: float) -> str | None:
        backend = self.backend
        ttl = int(backend.ttl * 1000)
        args = (self._wid, self._token, ttl, f"{time.time():.3f}", RETIRED_FOR, len(free), *free, *wanted)
        key, version = await self._run(TAKE, *args)
        try:
            await backend.sync(self._client, version)  # type: ignore[arg-type]
        except RedisError as error:
            raise backend.unreachable(error) from None
        if not key:
            self._queued = True
            return None
        self._key, self._queued = key, False
        self._stop = asyncio.Event()
        self._renewal = asyncio.get_running_loop().create_task(self._renew(self._client, key, self._stop))
        return str(key)

    async def _renew(self, client: Any, key: str, stop: asyncio.Event) -> None:
        """Keep the lease while the reply streams, until ``stop``. Never cancelled: redis-py
        may swallow a cancellation that arrives mid-command, and renew the lease forever."""
        ttl = self.backend.ttl
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), ttl / 3)
                return
            try:
                kept = await self._run(RENEW, key, self._token, int(ttl * 1000), client=client)
            except ProviderNotWorkingError as error:
                debug.log(f"{error}: the lease is renewed again in {ttl / 3:g} s")
                continue
            if not kept:
                logger.warning(
                    f"HailuoAI: the Redis lease of an account expired while its reply streamed"
                    f" (HAILUOAI_LEASE_TTL={ttl:g} s): another request may use the account meanwhile"
                )
                return

    async def close(self) -> None:
        renewal, self._renewal = self._renewal, None
        client, self._client = self._client, None
        key, self._key = self._key, None
        queued, self._queued = self._queued, False
        try:
            if renewal is not None and self._stop is not None:
                self._stop.set()
                await asyncio.wait({renewal})  # within one command (its socket timeout) at most
            if client is None:
                return
            if key is not None:
                await self._script(client, RELEASE)(args=[PREFIX, key, self._token])
            elif queued:
                async with client.pipeline(transaction=True) as pipe:
                    pipe.zrem(PREFIX + "queue", self._wid)
                    pipe.delete(PREFIX + "want:" + self._wid)
                    await pipe.execute()
        except (RedisError, OSError) as error:  # its lease (its place) lapses with the ttl
            debug.log(f"HailuoAI: could not give back an account lease in Redis: {error!r}")
        finally:
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.aclose()
