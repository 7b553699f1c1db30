"""Secret and personal values out of a recorded exchange, each replaced by a stable placeholder (pure).

A recording (:mod:`g4f_hailuo.transport.recording`) must not identify anyone: the token, the
realUserID, the client UUID, the device id, user names, email addresses, phone numbers, IP
addresses and every id the site hands out are replaced. One :class:`Scrubber` serves one file:
the same value always gets the same placeholder there, so the exchange still hangs together (the
session id a create answered is the one in the next path). A placeholder keeps the shape a
client reads: a numeric id stays digits of the same length (an int stays an int), a UUID stays
a UUID.

Values are found three ways: by name (a JSON key such as ``realUserID`` or ``email``, a query
parameter such as ``token``; :meth:`Scrubber.learn` for values the caller knows), by pattern
in any text (a JWT, an email address, a UUID, a phone number, an IPv4 address, a run of 15 to
19 digits), and, once known, wherever they occur again. The user's own messages echoed by the
site (``role: "user"``, ``msg_type: 1``) and chat titles are replaced too; the answers are kept.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["SECRET_QUERY_NAMES", "Scrubber", "body_shape", "key_kind"]

# Query parameters whose values identify the account (their names are kept, never a value).
SECRET_QUERY_NAMES = frozenset({"token", "user_id", "uuid", "device_id"})

# Normalised JSON key (lower case, no "_" or "-") -> the kind of value it holds.
_KEY_KINDS = {
    **dict.fromkeys(
        ("token", "accesstoken", "refreshtoken", "jwt", "authorization", "cookie", "password", "secret"),
        "token",
    ),
    **dict.fromkeys(("apikey", "sessiontoken", "securitytoken", "accesskeyid", "accesskeysecret"), "token"),
    **dict.fromkeys(("realuserid", "userid", "uid", "useridstr", "openid", "unionid"), "user_id"),
    **dict.fromkeys(("uuid", "uniqueuserid"), "uuid"),
    **dict.fromkeys(("deviceid", "deviceidstr", "tabdeviceid"), "device_id"),
    **dict.fromkeys(("nickname", "username", "realname", "displayname", "fullname"), "name"),
    **dict.fromkeys(("email", "mail", "emailaddress"), "email"),
    **dict.fromkeys(("phone", "mobile", "phonenumber", "tel", "telephone"), "phone"),
    **dict.fromkeys(("ip", "clientip", "ipaddress", "remoteaddr"), "ip"),
    **dict.fromkeys(("avatar", "avatarurl"), "url"),
    **dict.fromkeys(("title", "chattitle"), "title"),  # a chat's title is its first words
}
# The text of a message the user wrote (``role: "user"``; Gen A: ``msg_type: 1``, no role): the
# prompt, echoed by the site. Replaced whole, never searched for elsewhere: an answer quoting it
# stays as the site sent it (its deltas and its whole text must still agree).
_AUTHORED_KEYS = frozenset({"msgcontent", "content", "text"})
_UNSEARCHED_KINDS = frozenset({"prompt", "title"})
# Keys ending in "id" that name no one: what the client must read back as sent.
_KEPT_ID_KEYS = frozenset({"modelid", "providerid", "appid", "bizid"})
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")

_JWT = r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"
_EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
_HEX = "[0-9A-Fa-f]"
_UUID = rf"(?<![0-9A-Fa-f-]){_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}(?![0-9A-Fa-f-])"
_IPV4 = r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\d)"
_PHONE = r"(?<![\w+])\+\d{1,3}[ -]?\d{6,14}(?!\d)|(?<!\d)1[3-9]\d{9}(?!\d)"
_LONG_ID = r"(?<!\d)\d{15,19}(?!\d)"
_PATTERNS = re.compile(
    "|".join(
        f"(?P<{kind}>{pattern})"
        for kind, pattern in (
            ("token", _JWT),
            ("email", _EMAIL),
            ("uuid", _UUID),
            ("ip", _IPV4),
            ("phone", _PHONE),
            ("id", _LONG_ID),
        )
    )
)
_KEPT_IPS = frozenset({"127.0.0.1", "0.0.0.0"})
_MIN_KNOWN = 6  # shorter learned values are not searched for in free text (names: 3)
_MIN_NUMERIC_ID = 9  # a JSON string of this many digits or more is an id, whatever its key
_ALNUM_BEFORE, _ALNUM_AFTER = r"(?<![A-Za-z0-9])", r"(?![A-Za-z0-9])"


def _normal(key: str) -> str:
    return key.replace("_", "").replace("-", "").lower()


def key_kind(key: str, *, personal_object: bool = False) -> str | None:
    """The kind of secret a JSON key holds (``None``: not a secret by its name).

    ``name`` is a user's name only inside an object that holds other personal keys (elsewhere
    it names an agent or a tool); keys whose last word is ``id``/``ids`` hold ids."""
    normal = _normal(key)
    kind = _KEY_KINDS.get(normal)
    if kind is not None:
        return kind
    if normal == "name":
        return "name" if personal_object else None
    if normal in _KEPT_ID_KEYS:
        return None
    words = _WORDS.findall(key)
    return "id" if words and words[-1].lower() in ("id", "ids") else None


def body_shape(value: Any) -> Any:
    """The shape of a JSON value: its keys and the types of its values, never a value."""
    if isinstance(value, dict):
        return {str(key): body_shape(item) for key, item in value.items()}
    if isinstance(value, list):
        shapes: list[Any] = []
        for item in value:
            shape = body_shape(item)
            if shape not in shapes:
                shapes.append(shape)
        return shapes
    if value is None:
        return "null"
    return {bool: "bool", int: "int", float: "float", str: "str"}.get(type(value), type(value).__name__)


class Scrubber:
    """Placeholders for one file: the same value always becomes the same placeholder."""

    def __init__(self) -> None:
        self._placeholders: dict[str, str] = {}
        self._counts: dict[str, int] = {}
        self._known: re.Pattern[str] | None = None  # _PATTERNS and the known values
        self._known_count = -1
        self._unsearched: set[str] = set()  # placeholders of prompts and titles

    # -- placeholders --------------------------------------------------------------------------

    def placeholder(self, value: str, kind: str) -> str:
        """``value``'s placeholder, made on first sight: digits stay digits of the same length,
        a UUID stays a UUID, an email address stays an address, an IP address an IP address."""
        found = self._placeholders.get(value)
        if found is not None:
            return found
        if value.isdigit():
            number = str(self._next("digits"))
            made = "1" + number.rjust(len(value) - 1, "0") if len(number) < len(value) else number
        elif re.fullmatch(_UUID, value):
            made = f"00000000-0000-4000-8000-{self._next('uuid'):012d}"
        elif kind == "email" or re.fullmatch(_EMAIL, value):
            made = f"user{self._next('email')}@example.invalid"
        elif kind == "ip":
            count = self._next("ip")
            made = f"192.0.2.{count}" if count < 255 else f"<ip-{count}>"
        elif kind == "name":
            made = f"user-{self._next('name')}"
        elif kind == "url":
            made = f"https://example.invalid/{kind}-{self._next(kind)}"
        elif kind in _UNSEARCHED_KINDS:
            made = f"<{kind}-{self._next(kind)}>"
            self._unsearched.add(made)
        else:
            made = f"<{kind}-{self._next(kind)}>"
        self._placeholders[value] = made
        return made

    def _next(self, counter: str) -> int:
        self._counts[counter] = self._counts.get(counter, 0) + 1
        return self._counts[counter]

    def learn(self, value: Any, kind: str) -> None:
        """Note a value known to be secret (a query's ``token``, a header's): replaced wherever
        it occurs from now on."""
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value):
            self.placeholder(str(value), kind)

    def secret(self, value: Any, kind: str) -> Any:
        """The placeholder of a value found by its key: an int stays an int."""
        if isinstance(value, bool) or value is None or value == "":
            return value
        if isinstance(value, int):
            return int(self.placeholder(str(abs(value)), kind))
        if isinstance(value, float):
            return value
        if isinstance(value, str):
            return self.placeholder(value, kind)
        return self.value(value)

    # -- text ----------------------------------------------------------------------------------

    def _pattern(self) -> re.Pattern[str]:
        """Every pattern, then the values known so far (longest first), in one expression: each
        part of the text is replaced once, never a placeholder again."""
        if self._known is None or self._known_count != len(self._placeholders):
            values = [
                value
                for value, made in self._placeholders.items()
                if len(value) >= (3 if made.startswith("user-") else _MIN_KNOWN)
                and made not in self._unsearched
            ]
            values.sort(key=len, reverse=True)
            known = "|".join(re.escape(value) for value in values)
            extra = f"|(?P<known>{_ALNUM_BEFORE}(?:{known}){_ALNUM_AFTER})" if values else ""
            self._known = re.compile(_PATTERNS.pattern + extra)
            self._known_count = len(self._placeholders)
        return self._known

    def text(self, text: str) -> str:
        """Free text with every pattern and every known value replaced."""
        return self._pattern().sub(self._replace, text) if text else text

    def _replace(self, match: re.Match[str]) -> str:
        kind, value = match.lastgroup or "secret", match.group()
        if kind == "ip" and (value in _KEPT_IPS or any(int(part) > 255 for part in value.split("."))):
            return value
        return self.placeholder(value, kind)

    def value(self, value: Any, key: str = "") -> Any:
        """A JSON value, walked: secrets found by key, numeric ids by length, text by pattern."""
        if isinstance(value, dict):
            personal = any(_KEY_KINDS.get(_normal(str(k))) is not None for k in value)
            role = value.get("role")
            if role == "user" or (role is None and value.get("msg_type") == 1):
                return {
                    k: self._field(str(k), item, personal)
                    if _normal(str(k)) not in _AUTHORED_KEYS or not isinstance(item, str) or not item
                    else self.placeholder(item, "prompt")
                    for k, item in value.items()
                }
            return {k: self._field(str(k), item, personal) for k, item in value.items()}
        if isinstance(value, list):
            return [self.value(item, key) for item in value]
        if isinstance(value, str):
            if value.isdigit() and len(value) >= _MIN_NUMERIC_ID:
                return self.placeholder(value, "id")
            return self.text(value)
        return value

    def _field(self, key: str, value: Any, personal: bool) -> Any:
        kind = key_kind(key, personal_object=personal)
        if kind is None:
            return self.value(value, key)
        if isinstance(value, list):
            return [self._field(key, item, personal) for item in value]
        if isinstance(value, dict):
            return self.value(value, key)
        return self.secret(value, kind)

    def path(self, path: str) -> str:
        """A URL path: known values and every numeric segment of 6 digits or more."""
        segments = []
        for segment in path.split("/"):
            if segment.isdigit() and len(segment) >= _MIN_KNOWN:
                segments.append(self.placeholder(segment, "id"))
            else:
                segments.append(self.text(segment))
        return "/".join(segments)

    def json_text(self, text: str) -> str | None:
        """A JSON document scrubbed and written compactly; ``None`` if ``text`` is not JSON."""
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            return None
        return json.dumps(self.value(value), ensure_ascii=False, separators=(",", ":"))

    def event_stream_line(self, line: str) -> str:
        """One line of an event stream (with its line end): a ``data:`` JSON frame is scrubbed as
        JSON, anything else as text."""
        content = line.rstrip("\r\n")
        end = line[len(content) :]
        if content.startswith("data:"):
            payload = content[5:]
            space = " " if payload.startswith(" ") else ""
            stripped = payload.strip()
            scrubbed = self.json_text(stripped) if stripped[:1] in ("{", "[") else None
            if scrubbed is not None:
                return f"data:{space}{scrubbed}{end}"
        return self.text(content) + end

    def body(self, text: str, content_type: str) -> str:
        """A whole (non-stream) body: JSON as JSON, anything else (HTML, plain text) as text."""
        if "json" in content_type or text.lstrip()[:1] in ("{", "["):
            scrubbed = self.json_text(text)
            if scrubbed is not None:
                return scrubbed
        return self.text(text)
