"""Where the Hailuo tokens come from. The first source that has one wins:

1. ``api_key`` (g4f's ``Client``, ``g4f api``'s Bearer key and the GUI's key box
   pass it): one token, or several separated by commas;
2. the ``HAILUOAI_API_KEY`` environment variable (same syntax);
3. ``HAILUOAI_API_KEY=`` in the ``.env`` file of g4f's cookies dir. ``g4f api``
   and ``g4f gui`` load that file into the environment themselves (when
   python-dotenv is installed); it is read here too, so that a plain script
   sees the same token. Only this one variable is read from it;
4. the cached browser login(s) (``auth_g4f_hailuo.json``, see ``auth_cache``);
5. ``*.har`` files and localStorage / cookie exports (``*.json``) in the cookies
   dir (its top level): per ``.har`` the newest ``token`` header of a Hailuo
   request, per export its ``_token`` entry. Guest tokens (claims
   ``user.isAnonymous``) are skipped: they are no login. A file that cannot be
   read is skipped with a debug log line.

Several tokens form a pool (see ``pool``). Sources 1-3 are *explicit*:
used as given, never written to disk, never replaced by a browser login.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from g4f_hailuo.accounts import auth_cache as _auth_cache
from g4f_hailuo.accounts.identity import Identity
from g4f_hailuo.accounts.token_files import identity_from, tokens_in_files

__all__ = [
    "CACHE",
    "DOTENV",
    "ENV",
    "EXPLICIT",
    "FILES",
    "KEYWORD",
    "NONE",
    "TokenSource",
    "dotenv_value",
    "find_tokens",
    "identity_from",
    "split_tokens",
    "tokens_in_files",
]

ENV_NAME = "HAILUOAI_API_KEY"
KEYWORD = "api_key"
ENV = ENV_NAME
DOTENV = ".env"
CACHE = "login cache"
FILES = "files"
NONE = ""
EXPLICIT = frozenset({KEYWORD, ENV, DOTENV})


@dataclass(frozen=True)
class TokenSource:
    """The accounts found, and which source they came from (``kind``)."""

    kind: str
    identities: tuple[Identity, ...] = ()
    files: tuple[str, ...] = ()  # for FILES: the names of the files they came from

    def __repr__(self) -> str:
        return f"TokenSource(kind={self.kind!r}, accounts={len(self.identities)}, files={self.files!r})"

    @property
    def explicit(self) -> bool:
        return self.kind in EXPLICIT

    def describe(self) -> str:
        if self.kind == FILES:
            return "the file(s) " + ", ".join(self.files)
        return {KEYWORD: "api_key", CACHE: "the cached login(s)"}.get(self.kind, self.kind)


def split_tokens(value: Any) -> list[str]:
    """Tokens from ``"t1, t2"`` (a ``Bearer`` prefix is dropped), without duplicates."""
    if isinstance(value, dict):  # g4f may pass {provider name: key}
        value = value.get("HailuoAI")
    if not isinstance(value, str):
        return []
    tokens: list[str] = []
    for part in value.split(","):
        part = part.strip()
        if part[:7].lower() == "bearer ":
            part = part[7:].strip()
        if part and part not in tokens:
            tokens.append(part)
    return tokens


def dotenv_value(path: Path, name: str) -> str | None:
    """``name``'s value in a dotenv file (``KEY=value``, ``export``, quotes,
    ``#`` comments; the last assignment wins), ``None`` when absent."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    found: str | None = None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        if not sep or key.strip() != name:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] in "\"'" and value[0] in value[1:]:
            value = value[1 : value.index(value[0], 1)]
        else:
            value = value.split(" #", 1)[0].strip()
        found = value
    return found or None


def _cookies_dir() -> Path:
    from g4f.cookies import get_cookies_dir

    return Path(get_cookies_dir())


def find_tokens(api_key: Any, origin: str, *, cookies_dir: Path | None = None) -> TokenSource:
    """The accounts of the first source (in the order above) that has any."""
    kind, tokens = KEYWORD, split_tokens(api_key)
    if not tokens:  # the environment only now: a given api_key is the usual case
        kind, tokens = ENV, split_tokens(os.environ.get(ENV_NAME))
    if tokens:
        return TokenSource(kind, tuple(map(Identity.from_token, tokens)))
    directory = cookies_dir if cookies_dir is not None else _cookies_dir()
    tokens = split_tokens(dotenv_value(directory / ".env", ENV_NAME))
    if tokens:
        return TokenSource(DOTENV, tuple(map(Identity.from_token, tokens)))
    logins = _auth_cache.read_logins(directory / _auth_cache.AUTH_FILE_NAME)
    logins = [login for login in logins if _auth_cache.for_origin(login, origin)]
    identities = tuple(identity for identity in map(Identity.from_dict, logins) if identity is not None)
    if identities:
        return TokenSource(CACHE, identities)
    identities, files = tokens_in_files(directory, origin)
    if identities:
        return TokenSource(FILES, identities, files)
    return TokenSource(NONE)
