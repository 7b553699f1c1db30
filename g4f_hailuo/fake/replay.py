"""A recorded exchange played back as a site: ``python -m g4f_hailuo.fake --replay FILE``.

The file is what ``g4f-hailuo doctor --record FILE`` or ``HAILUOAI_RECORD=FILE`` wrote
(``transport/recording_file.py``). Each request gets the recorded response of the same method
and *path shape* (a numeric, UUID or placeholder segment matches any, so the ids a client
learnt from the recorded answers find their routes): the first such request the first recorded
response, the next the next, and the last one again after that. Nothing is checked: no token,
no signature. The body frames come at their recorded pace (``pace="recorded"``) or back to
back (``"fast"``). An exchange recorded as failed is a dropped connection (after the frames
that had arrived, if its response had begun); a request the recording lacks gets 404 JSON.

:func:`expected_outcome` is what a client should make of the recording (the doctor's recorded
outcome, else the final assistant message of the Agent turn); :func:`comparable` strips what
differs between two recordings of the same exchange (times, most header values).
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import re
import secrets
import sys
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from g4f_hailuo.fake.common import Announce, FakeServerBase, json_response, make_jwt, serve_main

__all__ = ["ReplaySite", "comparable", "expected_outcome", "load", "main", "path_shape", "run_in_thread"]

FORMAT = "g4f-hailuo-recording"  # transport.recording_file.FORMAT (the fake imports no client code)
PACES = ("recorded", "fast")
_ANY_SEGMENT = re.compile(
    r"\d+|<[^>]*>|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
# Never replayed: the server computes them for the body it sends.
_NOT_REPLAYED = frozenset(
    {"content-length", "transfer-encoding", "connection", "keep-alive", "content-encoding", "date"}
)
_TIMES = frozenset({"ms", "end_ms", "seconds"})


def load(path: str | Path) -> dict[str, Any]:
    """A recording file; ValueError if it is not one."""
    recording = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(recording, dict) or recording.get("format") != FORMAT:
        raise ValueError(f"{path} is not a g4f-hailuo recording (format {FORMAT!r})")
    if not isinstance(recording.get("exchanges"), list):
        raise ValueError(f"{path} holds no exchanges")
    return recording


def path_shape(path: str) -> str:
    """``path`` with every id-like segment as ``*``."""
    return "/".join("*" if _ANY_SEGMENT.fullmatch(segment) else segment for segment in path.split("/"))


def _key(method: str, path: str) -> tuple[str, str]:
    return method.upper(), path_shape(path)


def expected_outcome(recording: dict[str, Any]) -> dict[str, Any]:
    """``{"text": ..., "error": ...}``: the recorded outcome, else the Agent turn's final assistant
    message (its text, or ``ResponseError`` for a turn that ended with ``finish_reason:"error"``)."""
    outcome = recording.get("outcome")
    if isinstance(outcome, dict) and ("text" in outcome or "error" in outcome):
        return {"text": outcome.get("text"), "error": outcome.get("error")}
    found: dict[str, Any] = {"text": None, "error": None}
    for exchange in recording["exchanges"]:
        request, response = exchange.get("request") or {}, exchange.get("response") or {}
        if request.get("method") != "POST" or not str(request.get("path", "")).endswith("/message"):
            continue
        for frame in response.get("frames") or ():
            for line in str(frame.get("data", "")).splitlines():
                message = _assistant_message(line)
                if message is not None:
                    failed = message.get("finish_reason") == "error"
                    found = {"text": None if failed else message.get("msg_content", ""), "error": None}
                    found["error"] = "ResponseError" if failed else None
    return found


def _assistant_message(line: str) -> dict[str, Any] | None:
    if not line.startswith("data:"):
        return None
    try:
        frame = json.loads(line[5:])
    except ValueError:
        return None
    message = frame.get("agent_message") if isinstance(frame, dict) else None
    if isinstance(message, dict) and message.get("role") == "assistant" and message.get("msg_content"):
        return message
    return None


def comparable(recording: dict[str, Any]) -> dict[str, Any]:
    """The recording without what differs between two recordings of the same exchange: times,
    and the values of response headers other than ``Content-Type``."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: strip(item) for key, item in value.items() if key not in _TIMES}
        if isinstance(value, list):
            return [strip(item) for item in value]
        return value

    stripped = strip(copy.deepcopy(recording))
    for exchange in stripped["exchanges"]:
        response = exchange.get("response") or {}
        response["headers"] = [
            [name, value if name.lower() == "content-type" else ""]
            for name, value in response.get("headers", [])
        ]
    return stripped


class ReplaySite(FakeServerBase):
    """Serves one recording (see the module's docstring); ``rewind()`` starts it over."""

    def __init__(self, recording: dict[str, Any], *, pace: str = "recorded") -> None:
        super().__init__("replay")
        if pace not in PACES:
            raise ValueError(f"pace must be one of {PACES}, not {pace!r}")
        self.recording = recording
        self.pace = pace
        self._answers: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for exchange in recording["exchanges"]:
            request = exchange.get("request") or {}
            key = _key(str(request.get("method", "GET")), str(request.get("path", "/")))
            self._answers.setdefault(key, []).append(exchange)
        self._served: dict[tuple[str, str], int] = {}
        self.unanswered: list[str] = []  # "METHOD /path" of requests the recording lacks

    def parse_scenario(self, text: str) -> str:
        return text  # no scenarios: the recording is the scenario

    def rewind(self) -> None:
        self._served.clear()
        self.unanswered.clear()
        self.requests.clear()

    def app(self) -> web.Application:
        app = self.new_app()
        app.router.add_route("*", "/{tail:.*}", self._answer)
        return app

    def unmatched(self, request: web.Request, error: web.HTTPException) -> web.Response:
        return self._not_recorded(request)

    def _not_recorded(self, request: web.Request) -> web.Response:
        self.unanswered.append(f"{request.method} {request.path}")
        return json_response({"error": f"not in the recording: {request.method} {request.path}"}, 404)

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        record = self.record(request)
        record.body = await request.read()
        key = _key(request.method, request.raw_path.partition("?")[0])
        answers = self._answers.get(key)
        if not answers:
            response: web.StreamResponse = self._not_recorded(request)
        else:
            served = self._served[key] = self._served.get(key, 0) + 1
            response = await self._play(request, answers[min(served, len(answers)) - 1])
        record.status = response.status
        return response

    async def _wait_until(self, started: float, ms: Any) -> None:
        if self.pace == "recorded" and isinstance(ms, (int, float)):
            delay = started + ms / 1000 - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)

    async def _play(self, request: web.Request, exchange: dict[str, Any]) -> web.StreamResponse:
        started = time.monotonic()
        recorded = exchange.get("response")
        if not isinstance(recorded, dict):  # the request failed: no answer at all
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=502)
        await self._wait_until(started, recorded.get("ms"))
        response = web.StreamResponse(status=int(recorded.get("status", 200)))
        for name, value in recorded.get("headers") or ():
            if name.lower() not in _NOT_REPLAYED:
                response.headers.add(name, value)
        await response.prepare(request)
        for frame in recorded.get("frames") or ():
            await self._wait_until(started, frame.get("ms"))
            await response.write(str(frame.get("data", "")).encode("utf-8"))
        if exchange.get("error") and request.transport is not None:  # it broke after these frames
            request.transport.abort()
            return response
        await response.write_eof()
        return response


def run_in_thread(
    recording: dict[str, Any], *, pace: str = "recorded", host: str = "127.0.0.1"
) -> ReplaySite:
    """Serve ``recording`` on its own loop in a daemon thread; ``.stop()`` ends it."""
    from g4f_hailuo.fake import common

    return common.run_in_thread(ReplaySite, host, 0, recording=recording, pace=pace)


def replay_token() -> str:
    """A JWT-shaped token for a client talking to a replay (nothing checks it)."""
    now = int(time.time())
    user = {"id": "1", "name": "replay", "avatar": "", "deviceID": "", "isAnonymous": False}
    return make_jwt(secrets.token_bytes(16), {"exp": now + 30 * 86400, "iat": now, "user": user})


def main(argv: list[str] | None = None, prog: str = "python -m g4f_hailuo.fake --replay") -> int:
    """``FILE [--fast]`` plus the shared fake options (``--host``, ``--port``; a scenario is ignored)."""

    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("file", metavar="FILE", help="a recording (g4f-hailuo doctor --record FILE)")
        parser.add_argument("--fast", action="store_true", help="send the frames back to back")

    def build(args: argparse.Namespace) -> tuple[ReplaySite, Announce]:
        try:
            recording = load(args.file)
        except (OSError, ValueError) as error:
            print(f"cannot replay {args.file}: {error}", file=sys.stderr)
            raise SystemExit(2) from None
        site = ReplaySite(recording, pace="fast" if args.fast else "recorded")
        protocol = recording.get("protocol") or "agent"

        def announce(url: str) -> tuple[str, list[str]]:
            banner = f"replaying {args.file} ({len(recording['exchanges'])} exchanges) on {url}"
            lines = [f"HAILUOAI_BASE_URL={url}", f"HAILUOAI_API_KEY={replay_token()}"]
            return banner, [*lines, f"HAILUOAI_PROTOCOL={protocol}"]

        return site, announce

    return serve_main(
        argv,
        prog=prog,
        description="Serve a recorded exchange (g4f-hailuo doctor --record FILE) on a loopback port.",
        scenario_example="ignored",
        add_arguments=add_arguments,
        build=build,
    )
