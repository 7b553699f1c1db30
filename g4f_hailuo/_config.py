"""Which protocol, and where and how to reach it: origin, stream origin, region, proxy,
timeouts, retries (pure)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from g4f.errors import BadRequestError

__all__ = [
    "AGENT",
    "AGENT_REGIONS",
    "BROWSER_LOGIN_ENV",
    "DELETE_CHATS_ENV",
    "HAILUO_V4",
    "LEASE_SCOPES",
    "MATRIX",
    "PROTOCOLS",
    "REGIONS",
    "LeaseSettings",
    "Settings",
    "env_keys",
    "env_stamp",
    "getenv",
    "lease_settings",
    "resolve_settings",
    "seconds_setting",
    "settings_as_kwargs",
    "settings_from",
    "stream_origin_for",
    "switched_off",
]

# Options read per request look at the environment every time (users and tests change it);
# os.environ.get costs 0.6 us a name (a KeyError inside for a missing one), its raw mapping
# 0.05 us. A stamp of the raw values serves as a cache key only.
_raw_environ: Any = getattr(os.environ, "_data", os.environ)


def env_keys(*names: str) -> tuple[Any, ...]:
    """``names`` as keys of the raw environment, for :func:`env_stamp`."""
    return tuple(os.environ.encodekey(name) if _raw_environ is not os.environ else name for name in names)


def env_stamp(keys: tuple[Any, ...]) -> tuple[Any, ...]:
    """The raw values of ``keys`` now: the same stamp, the same settings from the environment."""
    return tuple(map(_raw_environ.get, keys))


_raw_keys: dict[str, Any] = {}


def getenv(name: str) -> str | None:
    """``os.environ.get(name)`` at a tenth of its cost for a name that is not set (the usual)."""
    key = _raw_keys.get(name)
    if key is None:
        key = _raw_keys[name] = env_keys(name)[0]
    value = _raw_environ.get(key)
    return value if value is None or isinstance(value, str) else os.fsdecode(value)


AGENT = "agent"  # MiniMax Agent sessions + SSE (the live chat; the default)
MATRIX = "matrix"  # MiniMax Agent's older polling API
HAILUO_V4 = "hailuo-v4"  # the retired Hailuo /v4 chat
PROTOCOLS = (AGENT, MATRIX, HAILUO_V4)
PROTOCOL_ENV = "HAILUOAI_PROTOCOL"
_PROTOCOL_ALIASES = {"minimax-agent": AGENT, "v4": HAILUO_V4, "hailuo": HAILUO_V4, "hailuo_v4": HAILUO_V4}

# The /v4 chat's sites.
REGIONS = {
    "intl": "https://www.hailuo.ai",
    "cn": "https://hailuoai.com",
}
# MiniMax Agent's API origins (its messages stream from agent-stream.<same domain>).
AGENT_REGIONS = {
    "intl": "https://agent.minimax.io",
    "cn": "https://agent.minimaxi.com",
}
REGION_ALIASES = {"international": "intl", "global": "intl", "en": "intl", "china": "cn", "zh": "cn"}
DEFAULT_CONNECT_TIMEOUT = 30.0
DEFAULT_READ_TIMEOUT = 120.0
DEFAULT_RETRIES = 2
BROWSER_LOGIN_ENV = "HAILUOAI_BROWSER_LOGIN"
DELETE_CHATS_ENV = "HAILUOAI_DELETE_CHATS"
_OFF = frozenset({"0", "false", "off", "no"})
_ON = frozenset({"1", "true", "on", "yes"})


def switched_off(variable: str) -> bool:
    """Whether an on-by-default switch is set to 0, false, off or no."""
    return os.environ.get(variable, "").strip().lower() in _OFF


@dataclass(frozen=True)
class Settings:
    origin: str  # the API origin (no trailing slash)
    region: str
    proxy: str | None
    connect_timeout: float
    read_timeout: float
    retries: int
    protocol: str
    stream_origin: str  # where an Agent turn streams from ("" under hailuo-v4)
    delete_after: bool = False  # delete the chat on the site once its answer is whole
    # A browser to impersonate (curl_cffi, the ``impersonate`` extra); "" aiohttp (a browser only
    # after a bot-protection page); IMPERSONATE_OFF never.
    impersonate: str = ""


def _protocol(value: str | None) -> str:
    name = (value or os.environ.get(PROTOCOL_ENV) or AGENT).strip().lower()
    name = _PROTOCOL_ALIASES.get(name, name)
    if name not in PROTOCOLS:
        raise BadRequestError(
            f"Unknown protocol {value or os.environ.get(PROTOCOL_ENV)!r}: use 'agent' (MiniMax Agent, the"
            " default), 'matrix' (its older polling API) or 'hailuo-v4' (the retired Hailuo chat)"
        )
    return name


def stream_origin_for(origin: str) -> str:
    """An Agent turn's stream origin: ``agent.X`` streams from ``agent-stream.X`` (scheme and
    port kept); any other host (a mirror, a loopback fake) from the API origin itself."""
    parts = urlsplit(origin)
    host = parts.hostname or ""
    if host.startswith("agent.") and not parts.path:
        netloc = parts.netloc.replace(host, "agent-stream." + host[len("agent.") :], 1)
        return f"{parts.scheme}://{netloc}"
    return origin


def _region(value: str | None, sites: dict[str, str]) -> str:
    name = (value or os.environ.get("HAILUOAI_REGION") or "intl").strip().lower()
    name = REGION_ALIASES.get(name, name)
    if name not in sites:
        hosts = " or ".join(f"{key!r} ({urlsplit(url).hostname})" for key, url in sites.items())
        raise BadRequestError(f"Unknown Hailuo region {value!r}: use {hosts}")
    return name


def _origin(value: str, name: str = "base URL") -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise BadRequestError(
            f"Bad Hailuo {name} {value!r}: expected an origin such as https://agent.minimax.io"
        )
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def _positive(name: str, value: object, default: float) -> float:
    if value is None or value == "":
        return default
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise BadRequestError(f"{name} must be a number of seconds, not {value!r}") from None
    if number <= 0:
        raise BadRequestError(f"{name} must be positive, not {value!r}")
    return number


def seconds_setting(name: str, value: object, env: str, default: float) -> float:
    """A duration option: the keyword argument, else the environment variable ``env``, else ``default``."""
    return _positive(name, value if value not in (None, "") else getenv(env), default)


def _retries(value: object) -> int:
    raw = value if value is not None else os.environ.get("HAILUOAI_RETRIES")
    if raw is None or raw == "":
        return DEFAULT_RETRIES
    try:
        count = int(raw)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise BadRequestError(f"retries must be a whole number, not {raw!r}") from None
    if not 0 <= count <= 10:
        raise BadRequestError(f"retries must be between 0 and 10, not {count}")
    return count


def _switch(name: str, value: object, env: str) -> bool:
    """An off-by-default switch: the keyword argument, else the environment variable ``env``."""
    raw = value if value not in (None, "") else os.environ.get(env, "")
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _ON or text in _OFF or not text:
        return text in _ON
    raise BadRequestError(f"{name} must be true or false (1/0, on/off), not {raw!r}")


IMPERSONATE_ENV = "HAILUOAI_IMPERSONATE"
IMPERSONATE_OFF = "off"
DEFAULT_BROWSER = "chrome"  # curl_cffi's newest Chrome


def _impersonate(value: object) -> str:
    """``impersonate``/HAILUOAI_IMPERSONATE: a browser name (``chrome``, ``chrome124``, ``safari``);
    true/1/on is ``chrome``, false/0/off is :data:`IMPERSONATE_OFF`; unset is ""."""
    raw = value if value not in (None, "") else os.environ.get(IMPERSONATE_ENV, "")
    if isinstance(raw, bool):
        return DEFAULT_BROWSER if raw else IMPERSONATE_OFF
    text = str(raw).strip().lower()
    if text in _ON:
        return DEFAULT_BROWSER
    if text in _OFF:
        return IMPERSONATE_OFF
    if text and not text.replace("_", "").isalnum():
        raise BadRequestError(f"impersonate must be a browser name such as chrome or safari, not {raw!r}")
    return text


def resolve_settings(
    *,
    base_url: str | None = None,
    region: str | None = None,
    proxy: str | None = None,
    timeout: object = None,
    stream_timeout: object = None,
    retries: object = None,
    protocol: str | None = None,
    stream_url: str | None = None,
    delete_after: object = None,
    impersonate: object = None,
) -> Settings:
    """Keyword arguments win over environment variables, which win over defaults.

    ``timeout`` bounds connecting and every wait for data; ``stream_timeout``,
    when given, bounds the waits for data instead (g4f's meaning for streams).
    """
    protocol_name = _protocol(protocol)
    sites = REGIONS if protocol_name == HAILUO_V4 else AGENT_REGIONS
    region_name = _region(region, sites)
    override = base_url or os.environ.get("HAILUOAI_BASE_URL")
    origin = _origin(override) if override else sites[region_name]
    stream_override = stream_url or os.environ.get("HAILUOAI_STREAM_URL")
    if protocol_name == HAILUO_V4:
        stream = ""
    elif stream_override:
        stream = _origin(stream_override, "stream URL")
    else:
        stream = stream_origin_for(origin)
    connect = _positive("timeout", timeout, DEFAULT_CONNECT_TIMEOUT)
    read = _positive("stream_timeout", stream_timeout, _positive("timeout", timeout, DEFAULT_READ_TIMEOUT))
    return Settings(
        origin=origin,
        region=region_name,
        proxy=proxy or os.environ.get("G4F_PROXY") or None,
        connect_timeout=connect,
        read_timeout=read,
        retries=_retries(retries),
        protocol=protocol_name,
        stream_origin=stream,
        delete_after=_switch("delete_after", delete_after, DELETE_CHATS_ENV),
        impersonate=_impersonate(impersonate),
    )


SETTING_NAMES = (
    "base_url",
    "region",
    "timeout",
    "stream_timeout",
    "retries",
    "protocol",
    "stream_url",
    "delete_after",
    "impersonate",
)


_SETTINGS_ENV = env_keys(
    PROTOCOL_ENV,
    "HAILUOAI_REGION",
    "HAILUOAI_BASE_URL",
    "HAILUOAI_STREAM_URL",
    "G4F_PROXY",
    "HAILUOAI_RETRIES",
    DELETE_CHATS_ENV,
    IMPERSONATE_ENV,
)
_resolved: dict[tuple[Any, ...], Settings] = {}  # (options, environment) -> the settings
_RESOLVED_KEPT = 64


def settings_from(kwargs: dict[str, Any], *, pop: bool = False, proxy: str | None = None) -> Settings:
    """The connection options among g4f's kwargs, resolved; ``pop`` takes them out.

    Resolved once per set of options and environment (every request resolves them)."""
    take = kwargs.pop if pop else kwargs.get
    proxy = proxy or (kwargs.pop("proxy", None) if pop else None)
    options = {name: take(name, None) for name in SETTING_NAMES}
    key = (proxy, *options.values(), *env_stamp(_SETTINGS_ENV))
    try:
        return _resolved[key]
    except KeyError:
        pass
    except TypeError:  # an unhashable option: resolved (and refused) without the cache
        return resolve_settings(proxy=proxy, **options)
    settings = resolve_settings(proxy=proxy, **options)
    if len(_resolved) >= _RESOLVED_KEPT:
        _resolved.clear()
    _resolved[key] = settings
    return settings


def settings_as_kwargs(settings: Settings) -> dict[str, Any]:
    """Resolved settings as kwargs again (for g4f's ``on_auth_async``)."""
    return {
        "base_url": settings.origin,
        "region": settings.region,
        "timeout": settings.connect_timeout,
        "stream_timeout": settings.read_timeout,
        "retries": settings.retries,
        "protocol": settings.protocol,
        "stream_url": settings.stream_origin or None,
        "delete_after": settings.delete_after,
        "impersonate": settings.impersonate or None,
    }


# -- who shares the accounts: one reply per account in this process, on this machine or in Redis ---------

LEASES_ENV = "HAILUOAI_LEASES"
LEASE_URL_ENV = "HAILUOAI_LEASE_URL"
LEASE_TTL_ENV = "HAILUOAI_LEASE_TTL"
PROCESS, MACHINE, REDIS = "process", "machine", "redis"
LEASE_SCOPES = (MACHINE, PROCESS, REDIS)
DEFAULT_LEASE_TTL = 10.0
_LEASE_URL_SCHEMES = ("redis", "rediss", "unix")


@dataclass(frozen=True)
class LeaseSettings:
    scope: str  # PROCESS, MACHINE (file locks in the cookies dir) or REDIS
    url: str | None  # the Redis URL (REDIS only)
    ttl: float  # seconds a Redis lease (or a waiting request) outlives its holder without renewal


def lease_settings(scope: str | None = None, url: str | None = None, ttl: object = None) -> LeaseSettings:
    """HAILUOAI_LEASES (``machine``, the default; ``process``; ``redis``, implied by a URL),
    HAILUOAI_LEASE_URL (``redis://``, ``rediss://`` or ``unix://``) and HAILUOAI_LEASE_TTL."""
    url = (url if url is not None else os.environ.get(LEASE_URL_ENV, "")).strip() or None
    name = (scope if scope is not None else os.environ.get(LEASES_ENV, "")).strip().lower()
    name = name or (REDIS if url else MACHINE)
    if name not in LEASE_SCOPES:
        raise BadRequestError(f"{LEASES_ENV} must be 'machine', 'process' or 'redis', not {name!r}")
    if name == REDIS and url is None:
        raise BadRequestError(f"{LEASES_ENV}=redis needs {LEASE_URL_ENV} (e.g. redis://127.0.0.1:6379/0)")
    if name != REDIS and url is not None:
        raise BadRequestError(
            f"{LEASE_URL_ENV} puts the leases in Redis: leave {LEASES_ENV} unset, not {name!r}"
        )
    if url is not None and urlsplit(url).scheme not in _LEASE_URL_SCHEMES:  # never echo it: a password
        raise BadRequestError(f"{LEASE_URL_ENV} must start with redis://, rediss:// or unix://")
    return LeaseSettings(name, url, seconds_setting(LEASE_TTL_ENV, ttl, LEASE_TTL_ENV, DEFAULT_LEASE_TTL))
