"""A fake MiniMax Agent site (protocol ``agent``, Gen C) on one loopback port, for tests and demos.

One aiohttp app serves the API routes and the stream route: a client derives the stream
origin = the API origin for a host that is not ``agent.X`` (``minimax-agent-protocol.md`` 2).
Every known route runs the strict checks of section 9 (:mod:`.checks`) over the raw request;
unknown paths (a missing prefix, an empty agent id) answer 200 ``text/html``, the app page.
Imports only the standard library, aiohttp, ``g4f_hailuo.fake`` and the agent signing code.

Routes (``/minimax-cloud/api/v1`` abbreviated ``…``):

- ``GET /v1/api/user/info`` (no ``user_id`` needed): ``data.userInfo{realUserID, userID, …}``;
- ``GET …/config``: the model list; marks the account set up (needed before sessions/turns);
- ``GET …/agent``: ``agents[]{name, agent_role, root_session_id}`` ("general", then "mavis");
- ``POST …/agent/{agent_id}/session``: ``{agent_name, session_id, base_resp}``; a foreign agent id
  gets base_resp success and no ``session_id``; a ``model`` that is not an object gets 400;
- ``GET …/session/{sid}``: ``session{session_id, title, model, status{type}}``;
- ``POST …/session/{sid}/message`` (``content``, ``turn_id``, optional ``model``): the turn as
  ``text/event-stream`` (:mod:`.scenarios`); a session of another token gets 404; a second
  turn while one streams on the account gets the "chat is running" stream; no credits, the
  ``1400010161`` stream;
- ``GET …/session/{sid}/message``: the history; ``POST /matrix/api/v1/commerce/get_membership_info``.

Run it by hand: ``python -m g4f_hailuo.fake --protocol agent`` (see :mod:`.cli`).
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from g4f_hailuo.fake import common
from g4f_hailuo.fake.agent import scenarios as sc
from g4f_hailuo.fake.agent.checks import SESSION_NOT_FOUND, Rejection, check_request
from g4f_hailuo.fake.agent.matrix import add_matrix_routes
from g4f_hailuo.fake.agent.pages import add_login_pages
from g4f_hailuo.fake.agent.state import (
    DEFAULT_MODEL,
    MODELS,
    MSG_ID_BASE,
    OK,
    REGIONS,
    SESSION_ID_BASE,
    AgentAccount,
    AgentSession,
    agents_payload,
    check_region,
    config_payload,
    history_payload,
    membership_payload,
    model_name,
    new_account,
    reasoning_on,
    session_payload,
    user_info_payload,
)
from g4f_hailuo.fake.agent.uploads import UploadStore, add_upload_routes, turn_files
from g4f_hailuo.fake.common import (
    FakeServerBase,
    RecordedRequest,
    html_response,
    http_response,
    json_response,
)
from g4f_hailuo.fake.scenario_kit import ScenarioSpec

__all__ = ["API", "MEMBERSHIP", "REGIONS", "USER_INFO", "FakeAgent", "run_in_thread"]

API = "/minimax-cloud/api/v1"
USER_INFO = "/v1/api/user/info"
MEMBERSHIP = "/matrix/api/v1/commerce/get_membership_info"
Handler = Callable[[web.Request, RecordedRequest, AgentAccount], Awaitable[web.StreamResponse]]


def _bad_request(error: str) -> web.Response:
    return json_response({"error": error}, 400)


class FakeAgent(FakeServerBase):
    """The fake site's state (usable before start and after close) and its aiohttp app.

    ``region`` ("intl" or "cn") is the only region whose tokens it accepts; ``clock`` (seconds,
    like ``time.time``; an attribute too) is what the signed ``unix`` must be within 300 s of and
    what token expiry is measured on; ``scenario`` is the default for every turn;
    ``check_signature=False`` skips the signature check (only); ``login_*`` and ``logins``: :mod:`.pages`.
    """

    def __init__(
        self,
        *,
        region: str = "intl",
        scenario: str = "normal",
        clock: Callable[[], float] = time.time,
        check_signature: bool = True,
        secret: str | None = None,
        login_as: str | None = None,
        login_delay: float = 0.2,
        login_omits: tuple[str, ...] = (),
        session_routes: bool | str = True,
    ) -> None:
        super().__init__(scenario)
        self.region = check_region(region)
        self.clock = clock
        self.check_signature = check_signature
        self._secret = (secret or secrets.token_hex(16)).encode("utf-8")
        self._accounts: dict[str, AgentAccount] = {}
        self.login_as, self.login_delay, self.login_omits = login_as, login_delay, frozenset(login_omits)
        self.logins: list[dict[str, str]] = []
        self.session_routes = session_routes  # False / "404": /minimax-cloud is missing (.matrix)
        self.uploads = UploadStore()  # prepared and stored files, the object keys turns named (.uploads)

    # -- state ---------------------------------------------------------------------------------

    def parse_scenario(self, text: str) -> ScenarioSpec[sc.Params]:
        return sc.parse_spec(text)

    def issue_token(
        self,
        *,
        name: str = "tester",
        real_user_id: str | None = None,
        region: str | None = None,
        expires_in: float = 40 * 86400,
        credits: int = 1000,
        migrated: bool = False,
    ) -> str:
        """A JWT-shaped token of a new account with two agents ("general", "mavis").

        Good until it expires or is revoked, and only if ``region`` (default: this fake's) is
        this fake's region: a token of the other region gets 401, as on the site. Its ``user.id``
        claim is not the account's realUserID (:meth:`real_user_id`).
        """
        account = new_account(
            self.new_id,
            self._secret,
            name=name,
            region=region or self.region,
            expires_in=expires_in,
            now=self.clock(),
            real_user_id=real_user_id,
        )
        account.credits, account.migrated = credits, migrated
        self._accounts[account.token] = account
        return account.token

    def account(self, token: str) -> AgentAccount:
        """The account of a token this fake issued (its fields can be changed: ``credits`` ...)."""
        return self._accounts[token]

    def real_user_id(self, token: str) -> str:
        return self._accounts[token].real_user_id

    def api_key(self, token: str) -> str:
        """``<realUserID>+<token>``, the account form that needs no ``user/info`` call."""
        return f"{self.real_user_id(token)}+{token}"

    def agent_ids(self, token: str) -> list[str]:
        return self._accounts[token].agent_ids()

    def set_credits(self, token: str, credits: int) -> None:
        """0: every later turn streams the ``1400010161`` "not enough credits" error."""
        self._accounts[token].credits = credits

    def revoke(self, token: str) -> None:
        """Later requests with ``token`` get 401 with an empty body."""
        if token in self._accounts:
            self._accounts[token].revoked = True

    def sessions(self, token: str) -> dict[str, list[str]]:
        """session id -> the message contents (as received) of each session the token created.

        The agents' root sessions are left out until a message is sent to one."""
        account = self._accounts.get(token)
        return account.session_contents() if account else {}

    def turns(self, token: str) -> int:
        """The turns the account had accepted (refused and HTTP-scenario ones not counted)."""
        account = self._accounts.get(token)
        return account.turns if account else 0

    def message_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "POST" and _is_route(r.path, "session", "message")]

    def session_creates(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "POST" and _is_route(r.path, "agent", "session")]

    @staticmethod
    def reply_for(prompt: str, turn: int, scenario: str = "normal", files: tuple[str, ...] = ()) -> str:
        """The whole answer to ``prompt`` (the message content) as turn ``turn`` of its session.

        A directive inside ``prompt`` is honoured; pass ``scenario`` when the text depends on a
        server-wide default with ``size=`` (``giant``), and the names of the files the turn attached."""
        return sc.reply_text(prompt, turn, sc.resolve_spec(prompt, scenario).params) + sc.files_note(files)

    @staticmethod
    def thinking_for(prompt: str) -> str:
        """The whole thinking of a turn with reasoning on (or the ``thinking`` scenario)."""
        return sc.thinking_text(prompt)

    def _live_account(self, token: str) -> AgentAccount | None:
        account = self._accounts.get(token)
        if account is None or account.revoked or account.region != self.region:
            return None
        return account if self.clock() < account.expires_at else None

    # -- HTTP ----------------------------------------------------------------------------------

    def app(self) -> web.Application:
        """A new aiohttp app over this state (``start()`` serves it with handler cancellation on)."""
        app = self.new_app()
        routes = app.router
        routes.add_get(USER_INFO, self._route(self._user_info, needs_user_id=False))
        routes.add_get(f"{API}/config", self._route(self._config))
        routes.add_get(f"{API}/agent", self._route(self._agents))
        routes.add_post(
            f"{API}/agent/{{agent_id}}/session", self._route(self._create_session, needs_config=True)
        )
        routes.add_get(f"{API}/session/{{sid}}", self._route(self._session))
        routes.add_post(f"{API}/session/{{sid}}/message", self._route(self._message, needs_config=True))
        routes.add_get(f"{API}/session/{{sid}}/message", self._route(self._session))
        routes.add_post(MEMBERSHIP, self._route(self._membership))
        add_login_pages(self, routes)  # GET / and the login flow (.pages)
        add_matrix_routes(self, app)  # the Gen A chat routes and the session_routes switch (.matrix)
        add_upload_routes(self, app)  # uploads/prepare and the storage form POST (.uploads)
        return app

    def unmatched(self, request: web.Request, error: web.HTTPException) -> web.Response:
        """Any unknown path or method: the single-page app's HTML, with 200 (as the site does)."""
        return html_response(sc.APP_PAGE)

    def _route(
        self, handler: Handler, *, needs_user_id: bool = True, needs_config: bool = False
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """Wrap a route: record the request and its raw body, run the strict checks, call ``handler``."""

        async def endpoint(request: web.Request) -> web.StreamResponse:
            record = self.record(request)
            record.body = await request.read()
            record.json = _json_or_none(record.body)
            account = self._live_account(request.headers.get("token", ""))
            verdict = check_request(
                request,
                record.body,
                account,
                now=self.clock(),
                needs_user_id=needs_user_id,
                needs_config=needs_config,
                verify_signature=self.check_signature,
            )
            record.token_ok, record.signature_ok = verdict.token_ok, verdict.signature_ok
            response: web.StreamResponse
            if verdict.rejection is None and account is not None:
                response = await handler(request, record, account)
            else:
                rejection = verdict.rejection or Rejection("token", 401)
                record.rejected = rejection.reason
                response = rejection.response()
            record.status = response.status
            return response

        return endpoint

    async def _user_info(
        self, request: web.Request, record: RecordedRequest, account: AgentAccount
    ) -> web.Response:
        return json_response(user_info_payload(account))

    async def _config(
        self, request: web.Request, record: RecordedRequest, account: AgentAccount
    ) -> web.Response:
        account.configured = True
        return json_response(config_payload())

    async def _agents(
        self, request: web.Request, record: RecordedRequest, account: AgentAccount
    ) -> web.Response:
        return json_response(agents_payload(account))

    async def _membership(
        self, request: web.Request, record: RecordedRequest, account: AgentAccount
    ) -> web.Response:
        return json_response(membership_payload(account, self.clock()))

    async def _create_session(
        self, request: web.Request, record: RecordedRequest, account: AgentAccount
    ) -> web.Response:
        body = record.json if record.body.strip() else {}
        if not isinstance(body, dict):
            return _bad_request("invalid request body")
        model = body.get("model")
        if model is not None and not isinstance(model, dict):
            return _bad_request("invalid model: an object is expected")
        if model is not None and model_name(model) not in MODELS:
            return _bad_request(f"unknown model {model_name(model)!r}")
        agent_id = request.match_info["agent_id"]
        if agent_id not in account.agent_ids():
            return json_response({"base_resp": OK})  # the site's answer to a wrong agent id: no session_id
        sid = self.new_id(SESSION_ID_BASE)
        account.sessions[sid] = AgentSession(sid, agent_id, dict(model or DEFAULT_MODEL))
        return json_response({"agent_name": agent_id, "session_id": sid, "base_resp": OK})

    async def _session(
        self, request: web.Request, record: RecordedRequest, account: AgentAccount
    ) -> web.Response:
        """``GET /session/{sid}`` (its status) and ``GET /session/{sid}/message`` (its history)."""
        session = account.sessions.get(request.match_info["sid"])
        if session is None:
            return json_response(SESSION_NOT_FOUND, 404)
        history = request.path.endswith("/message")
        return json_response(history_payload(session) if history else session_payload(session))

    async def _message(
        self, request: web.Request, record: RecordedRequest, account: AgentAccount
    ) -> web.StreamResponse:
        body = record.json
        if not isinstance(body, dict) or not isinstance(body.get("content"), str):
            return _bad_request("invalid request body: content is required")
        turn_id, model = body.get("turn_id"), body.get("model")
        if not isinstance(turn_id, str) or not turn_id:
            return _bad_request("turn_id is required")
        if model is not None and not isinstance(model, dict):
            return _bad_request("invalid model: an object is expected")
        session = account.sessions.get(request.match_info["sid"])
        if session is None:
            return json_response(SESSION_NOT_FOUND, 404)
        if isinstance(files := turn_files(self.uploads, account, body), web.Response):
            return files  # attachments that name no object this account stored (.uploads)
        content: str = body["content"]
        try:
            spec = sc.resolve_spec(content, self.scenario)
        except ValueError as exc:
            return _bad_request(f"fake server: {exc}")
        record.scenario = spec.name
        turn = sc.AgentTurn(
            content=content,
            turn=len(session.messages) + 1,
            turn_id=turn_id,
            user_msg_id=self.new_id(MSG_ID_BASE),
            reply_msg_id=self.new_id(MSG_ID_BASE),
            reasoning=reasoning_on(model or session.model),
            files=files,
        )
        refusal = self._refusal(account, spec)
        if refusal is not None:  # not recorded as a turn
            record.scenario = refusal
            params = spec.params if refusal == spec.name else dataclasses.replace(spec.params, after=0)
            return await self.play(request, record, sc.error_plan(sc.REFUSALS[refusal], turn, params))
        # fail_first counts the attempts of one turn: the same directive, session and content
        if self.fails_first(f"{spec.key}\0{session.session_id}\0{content}", spec.params.fail_first):
            return http_response(sc.failure_reply(spec.params.fail_status))
        reply = sc.http_reply(spec)
        if reply is not None:
            return http_response(reply)
        self._accept(account, session, spec, turn)
        account.running += 1
        session.running += 1
        try:
            return await self.play(request, record, sc.stream_plan(spec, turn))
        finally:
            account.running -= 1
            session.running -= 1

    def _refusal(self, account: AgentAccount, spec: ScenarioSpec[sc.Params]) -> str | None:
        """Why the turn is refused with an error stream (a key of ``sc.REFUSALS``), if it is."""
        if account.running:
            return "busy"
        if account.credits <= 0:
            return "error_credits"
        return spec.name if spec.name in sc.REFUSALS else None

    def _accept(
        self, account: AgentAccount, session: AgentSession, spec: ScenarioSpec[sc.Params], turn: sc.AgentTurn
    ) -> None:
        """Record the turn: the session's messages, title and history, the account's turn count."""
        account.turns += 1
        session.record_turn(turn.content, turn.turn_id, turn.user_msg_id, int(self.clock() * 1000))
        session.history.append(sc.assistant_entry(spec, turn))


def _is_route(path: str, collection: str, leaf: str) -> bool:
    parts = path.split("/")
    return path.startswith(f"{API}/{collection}/") and len(parts) == 7 and parts[6] == leaf and bool(parts[5])


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def run_in_thread(*, host: str = "127.0.0.1", port: int = 0, **kwargs: Any) -> FakeAgent:
    """Start a :class:`FakeAgent` on its own event loop in a daemon thread; ``.stop()`` ends it."""
    return common.run_in_thread(FakeAgent, host, port, **kwargs)
