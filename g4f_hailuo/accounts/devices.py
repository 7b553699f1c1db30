"""Registered device ids, remembered across processes.

A token whose claims name no device gets one from ``device/register``. Doing
that in every process (each ``g4f api`` worker, each CLI run) would give one
account many "devices", which is reported to draw the site's risk control. So
the id is kept in ``devices_g4f_hailuo.json`` beside the login cache, keyed by
the site and the account's fingerprint: never the token itself, so a token given
with ``api_key`` still never reaches the disk.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from g4f import debug

from g4f_hailuo.accounts import auth_cache as _auth_cache

if TYPE_CHECKING:
    from g4f_hailuo._config import Settings
    from g4f_hailuo.accounts.identity import Identity
    from g4f_hailuo.transport.base import Session

__all__ = ["DEVICES_FILE_NAME", "devices_file", "remember", "remembered", "remembered_entry", "with_device"]

DEVICES_FILE_NAME = "devices_g4f_hailuo.json"
_MOST = 256  # accounts remembered; the oldest entries go first


def devices_file() -> Path:
    return _auth_cache.auth_file().with_name(DEVICES_FILE_NAME)


def _key(origin: str, account: str) -> str:
    return f"{origin} {account}"


def remembered(path: Path, origin: str, account: str, client_uuid: str) -> str | None:
    """The device id registered for this account and client UUID, if any."""
    entry = (_auth_cache.read_auth(path) or {}).get(_key(origin, account))
    if not isinstance(entry, dict) or entry.get("uuid") != client_uuid:
        return None
    device_id = entry.get("device_id")
    return device_id if isinstance(device_id, str) and device_id.isdigit() else None


def remembered_entry(path: Path, origin: str, account: str) -> dict[str, str]:
    """Everything remembered for this account on this site (``uuid``, ``device_id``,
    ``real_user_id``), ``{}`` when nothing is."""
    entry = (_auth_cache.read_auth(path) or {}).get(_key(origin, account))
    if not isinstance(entry, dict):
        return {}
    return {name: value for name, value in entry.items() if isinstance(value, str)}


def remember(path: Path, origin: str, account: str, client_uuid: str, device_id: str, **more: str) -> None:
    """Keep the device id, and ``more`` ids (newest last; atomic, 0600, locked like the login cache)."""
    with _auth_cache.locked(path):
        entries = _auth_cache.read_auth(path) or {}
        key = _key(origin, account)
        entries.pop(key, None)
        entries[key] = {"uuid": client_uuid, "device_id": device_id, **more}
        for old in list(entries)[: max(0, len(entries) - _MOST)]:
            del entries[old]
        _auth_cache.write_auth(path, entries)


async def with_device(session: Session, settings: Settings, identity: Identity) -> Identity:
    """The identity with a device id: the one registered before for this account
    (in any process), else a new registration, remembered."""
    from g4f_hailuo.protocols.hailuo_v4.client import register_device

    path = devices_file()
    device_id = remembered(path, settings.origin, identity.account, identity.uuid)
    if device_id is None:
        device_id = await register_device(session, settings, identity)
        try:
            remember(path, settings.origin, identity.account, identity.uuid, device_id)
        except OSError as error:  # e.g. a read-only home: this process still keeps it
            debug.log(f"HailuoAI: could not remember the device id in {path} ({type(error).__name__})")
    return dataclasses.replace(identity, device_id=device_id)
