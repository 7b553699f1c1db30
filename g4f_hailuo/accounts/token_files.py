"""Tokens in files of g4f's cookies dir (source 5 of ``token_sources``): per ``.har`` file the
newest ``token`` header of a request to the site (with the device identity, ``user_id`` and user
agent beside it), per localStorage or cookie export its ``_token`` (with the Agent site's
``user_detail_agent`` realUserID and ``tab_device_id``). Guest tokens are skipped; a file that
cannot be read is skipped with a debug line, and parsed again only when it changes.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from g4f import debug

from g4f_hailuo.accounts import auth_cache as _auth_cache
from g4f_hailuo.accounts.browser_login import storage_value
from g4f_hailuo.accounts.devices import DEVICES_FILE_NAME
from g4f_hailuo.accounts.identity import Identity, is_guest_token

__all__ = ["agent_user_id", "identity_from", "tokens_in_files"]

HAILUO_HOSTS = ("hailuo.ai", "hailuoai.com", "minimax.io", "minimaxi.com")  # /v4 and MiniMax Agent
TOKEN_KEY = "_token"
DEVICE_KEY = "USER_HARD_WARE_INFO"
UUID_KEY = "UNIQUE_USER_ID"
AGENT_USER_KEY = "user_detail_agent"  # MiniMax Agent: JSON with realUserID
AGENT_DEVICE_KEY = "tab_device_id"  # MiniMax Agent's numeric device id (session storage)
_MAX_HAR_BYTES = 128 * 1024 * 1024  # bigger ones (recorded response bodies) are skipped
_MAX_JSON_BYTES = 16 * 1024 * 1024


def identity_from(
    token: str,
    uuid: str | None = None,
    device_id: str | None = None,
    user_agent: Any = None,
    real_user_id: str | None = None,
) -> Identity:
    """The identity of ``token`` with what a browser stored beside it (each part optional)."""
    base = Identity.from_token(token, user_agent if isinstance(user_agent, str) and user_agent else None)
    return dataclasses.replace(
        base,
        uuid=uuid or base.uuid,
        device_id=device_id if device_id and device_id.isdigit() else base.device_id,
        real_user_id=real_user_id if real_user_id and real_user_id.isdigit() else base.real_user_id,
    )


# -- .har files and exports ------------------------------------------------------------------


@dataclass(frozen=True)
class _Found:
    token: str
    uuid: str | None
    device_id: str | None
    user_agent: str | None
    when: float  # seconds since the epoch: newer wins
    file: str
    real_user_id: str | None = None

    def __repr__(self) -> str:
        return f"_Found(file={self.file!r}, when={self.when!r})"


# (path, hosts) -> ((mtime_ns, size), its token): a file is parsed again only when it changes.
_parsed: dict[tuple[Path, tuple[str, ...]], tuple[tuple[int, int], _Found | None]] = {}


def tokens_in_files(directory: Path, origin: str) -> tuple[tuple[Identity, ...], tuple[str, ...]]:
    """One token per file (``.har`` files and exports at the top of
    ``directory``), the newest per account, newest first; and the files used."""
    hosts = _hosts(origin)
    found: dict[str, _Found] = {}
    try:
        paths = sorted(p for p in directory.iterdir() if p.suffix in (".har", ".json") and p.is_file())
    except OSError:
        return (), ()
    for path in paths:
        if path.name.startswith("auth_") or path.name == DEVICES_FILE_NAME:  # g4f's and our own files
            continue
        item = _found_in(path, hosts)
        if item is None:
            continue
        key = _auth_cache.login_key(item.token)
        if key not in found or item.when > found[key].when:
            found[key] = item
    newest = sorted(found.values(), key=lambda item: item.when, reverse=True)
    identities = tuple(
        identity_from(i.token, i.uuid, i.device_id, i.user_agent, i.real_user_id) for i in newest
    )
    files = tuple(dict.fromkeys(item.file for item in newest))
    return identities, files


def _hostname(url: str) -> str | None:
    """The URL's host, ``None`` when there is none or the URL is malformed (``https://[x``)."""
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def _hosts(origin: str) -> tuple[str, ...]:
    own = _hostname(origin)
    return (*HAILUO_HOSTS, own) if own else HAILUO_HOSTS


def _is_hailuo(url_or_host: Any, hosts: Iterable[str]) -> bool:
    if not isinstance(url_or_host, str) or not url_or_host:
        return False
    host = _hostname(url_or_host) if "//" in url_or_host else url_or_host.lstrip(".").lower()
    return bool(host) and any(host == h or host.endswith("." + h) for h in hosts)  # type: ignore[union-attr]


def _found_in(path: Path, hosts: tuple[str, ...]) -> _Found | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    if stat.st_size > (_MAX_HAR_BYTES if path.suffix == ".har" else _MAX_JSON_BYTES):
        debug.log(f"HailuoAI: skipped {path.name} ({stat.st_size} bytes): too big to look for a token in")
        return None
    signature = (stat.st_mtime_ns, stat.st_size)
    cached = _parsed.get((path, hosts))
    if cached is None or cached[0] != signature:
        if len(_parsed) >= 256:
            _parsed.clear()
        # cached even when nothing was found: a bad file is logged once, not on every chat
        cached = _parsed[(path, hosts)] = (signature, _token_of_file(path, hosts, stat.st_mtime))
    return cached[1]


def _token_of_file(path: Path, hosts: tuple[str, ...], mtime: float) -> _Found | None:
    """The one token a file gives: the newest of a .har, the first of an export."""
    try:
        data = json.loads(path.read_bytes())
        har = path.suffix == ".har"
        found = (_from_har if har else _from_export)(data, hosts, mtime, path.name)
    except Exception as error:  # whatever is wrong with one file must not break a chat
        debug.log(f"HailuoAI: skipped {path.name}: not a readable .har or export ({type(error).__name__})")
        return None
    logins = [item for item in found if not is_guest_token(item.token)]
    if found and not logins:
        debug.log(f"HailuoAI: skipped {path.name}: it holds only a guest token (not logged in)")
    if not logins:
        return None
    return _newest(logins) if har else logins[0]


def _newest(found: list[_Found]) -> _Found:
    """The latest by time; of equal times the later in the file."""
    return max(enumerate(found), key=lambda pair: (pair[1].when, pair[0]))[1]


def _timestamp(value: Any, default: float) -> float:
    if not isinstance(value, str) or not value:
        return default
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


def _header_map(headers: Any) -> dict[str, Any]:
    """HAR headers (``[{"name", "value"}]``) by lower-case name; ``{}`` for anything else."""
    if not isinstance(headers, list):
        return {}
    return {str(h.get("name", "")).lower(): h.get("value") for h in headers if isinstance(h, dict)}


def _from_har(data: Any, hosts: tuple[str, ...], mtime: float, name: str) -> list[_Found]:
    """The token headers of the Hailuo requests, in the file's order."""
    log = data.get("log") if isinstance(data, dict) else None
    entries = log.get("entries") if isinstance(log, dict) else None
    found: list[_Found] = []
    for entry in entries if isinstance(entries, list) else []:
        request = entry.get("request") if isinstance(entry, dict) else None
        if not isinstance(request, dict) or not _is_hailuo(request.get("url"), hosts):
            continue
        headers = _header_map(request.get("headers"))
        token = headers.get("token")
        if not isinstance(token, str) or not token.strip():
            continue
        query = {key: values[0] for key, values in parse_qs(urlsplit(request["url"]).query).items()}
        user_agent = headers.get("user-agent")
        found.append(
            _Found(
                token=token.strip(),
                uuid=query.get("uuid"),
                device_id=query.get("device_id"),
                user_agent=user_agent if isinstance(user_agent, str) else None,
                when=_timestamp(entry.get("startedDateTime"), mtime),
                file=name,
                real_user_id=query.get("user_id"),
            )
        )
    return found


def _pairs(value: Any) -> dict[str, Any]:
    """A localStorage dump as a dict: ``{"k": "v"}`` or ``[{"name"|"key": k, "value": v}]``."""
    if isinstance(value, dict):
        return value
    pairs: dict[str, Any] = {}
    for item in value if isinstance(value, list) else []:
        if isinstance(item, dict):
            key = item.get("name", item.get("key"))
            if isinstance(key, str):
                pairs[key] = item.get("value")
    return pairs


def _from_storage(storage: dict[str, Any], when: float, name: str) -> list[_Found]:
    token = storage_value(storage.get(TOKEN_KEY))
    if token is None:
        return []
    uuid = storage_value(storage.get(UUID_KEY))
    device_id = storage_value(storage.get(DEVICE_KEY)) or storage_value(storage.get(AGENT_DEVICE_KEY))
    return [_Found(token, uuid, device_id, None, when, name, agent_user_id(storage.get(AGENT_USER_KEY)))]


def agent_user_id(value: Any) -> str | None:
    """``realUserID`` of MiniMax Agent's ``user_detail_agent`` (JSON text or an object)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    found = value.get("realUserID") if isinstance(value, dict) else None
    found = str(found) if isinstance(found, (str, int)) and not isinstance(found, bool) else ""
    return found if found.isdigit() else None


def _from_cookies(cookies: Any, hosts: tuple[str, ...], when: float, name: str) -> list[_Found]:
    found: list[_Found] = []
    for cookie in cookies if isinstance(cookies, list) else []:
        if not isinstance(cookie, dict) or cookie.get("name") not in (TOKEN_KEY, "token"):
            continue
        where = cookie.get("domain") or cookie.get("host") or cookie.get("url")
        token = storage_value(cookie.get("value"))
        if token and _is_hailuo(where, hosts):
            found.append(_Found(token, None, None, None, when, name))
    return found


def _from_export(data: Any, hosts: tuple[str, ...], mtime: float, name: str) -> list[_Found]:
    """Exports understood:

    - a cookie list (g4f's / browser extensions' format) with a ``_token``
      (or ``token``) cookie of a Hailuo domain;
    - a Playwright storage state (``{"cookies": [...], "origins": [{"origin",
      "localStorage": [{"name", "value"}]}]}``), Hailuo origins only;
    - ``{"origin"|"url": <Hailuo URL>, "localStorage": {...}}``;
    - a plain ``JSON.stringify(localStorage)`` of the site: ``_token`` beside
      ``USER_HARD_WARE_INFO`` or ``UNIQUE_USER_ID`` (or a file name with "hailuo").
    """
    if isinstance(data, list):
        return _from_cookies(data, hosts, mtime, name)
    if not isinstance(data, dict):
        return []
    if "origins" in data or "cookies" in data:
        # localStorage first: that is where the site keeps its token
        found: list[_Found] = []
        origins = data.get("origins")
        for origin in origins if isinstance(origins, list) else []:
            if isinstance(origin, dict) and _is_hailuo(origin.get("origin"), hosts):
                found += _from_storage(_pairs(origin.get("localStorage")), mtime, name)
        return found + _from_cookies(data.get("cookies"), hosts, mtime, name)
    if "localStorage" in data:
        where = data.get("origin") or data.get("url")
        hailuo = _is_hailuo(where, hosts) if where is not None else "hailuo" in name.lower()
        if not hailuo:
            return []
        return _from_storage(_pairs(data["localStorage"]), mtime, name)
    site_keys = (DEVICE_KEY, UUID_KEY, AGENT_USER_KEY)
    if TOKEN_KEY in data and (any(key in data for key in site_keys) or "hailuo" in name.lower()):
        return _from_storage(data, mtime, name)
    return []
