"""Where and how to reach Hailuo: origin, region, proxy, timeouts, retries (pure)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from g4f.errors import BadRequestError

__all__ = ["BROWSER_LOGIN_ENV", "REGIONS", "Settings", "resolve_settings", "seconds_setting", "switched_off"]

REGIONS = {
    "intl": "https://www.hailuo.ai",
    "cn": "https://hailuoai.com",
}
REGION_ALIASES = {"international": "intl", "global": "intl", "en": "intl", "china": "cn", "zh": "cn"}
DEFAULT_CONNECT_TIMEOUT = 30.0
DEFAULT_READ_TIMEOUT = 120.0
DEFAULT_RETRIES = 2
BROWSER_LOGIN_ENV = "HAILUOAI_BROWSER_LOGIN"
_OFF = frozenset({"0", "false", "off", "no"})


def switched_off(variable: str) -> bool:
    """Whether an on-by-default switch is set to 0, false, off or no."""
    return os.environ.get(variable, "").strip().lower() in _OFF


@dataclass(frozen=True)
class Settings:
    origin: str
    region: str
    proxy: str | None
    connect_timeout: float
    read_timeout: float
    retries: int


def _region(value: str | None) -> str:
    name = (value or os.environ.get("HAILUOAI_REGION") or "intl").strip().lower()
    name = REGION_ALIASES.get(name, name)
    if name not in REGIONS:
        raise BadRequestError(
            f"Unknown Hailuo region {value!r}: use 'intl' (www.hailuo.ai) or 'cn' (hailuoai.com)"
        )
    return name


def _origin(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise BadRequestError(
            f"Bad Hailuo base URL {value!r}: expected an origin such as https://www.hailuo.ai"
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
    return _positive(name, value if value not in (None, "") else os.environ.get(env), default)


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


def resolve_settings(
    *,
    base_url: str | None = None,
    region: str | None = None,
    proxy: str | None = None,
    timeout: object = None,
    stream_timeout: object = None,
    retries: object = None,
) -> Settings:
    """Keyword arguments win over environment variables, which win over defaults.

    ``timeout`` bounds connecting and every wait for data; ``stream_timeout``,
    when given, bounds the waits for data instead (g4f's meaning for streams).
    """
    region_name = _region(region)
    override = base_url or os.environ.get("HAILUOAI_BASE_URL")
    origin = _origin(override) if override else REGIONS[region_name]
    connect = _positive("timeout", timeout, DEFAULT_CONNECT_TIMEOUT)
    read = _positive("stream_timeout", stream_timeout, _positive("timeout", timeout, DEFAULT_READ_TIMEOUT))
    return Settings(
        origin=origin,
        region=region_name,
        proxy=proxy or os.environ.get("G4F_PROXY") or None,
        connect_timeout=connect,
        read_timeout=read,
        retries=_retries(retries),
    )
