"""``g4f-hailuo doctor`` as a subprocess (``python -m g4f_hailuo``) against the fake sites: the whole
chain passing, and one test per diagnosis, each provoking it on the fake and checking the advice
printed, the exit code, and that no token or realUserID is printed in full."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from _g4f_processes import isolated_env, make_home
from g4f_hailuo.cli import EXIT_AUTH, EXIT_ERROR, EXIT_OK, EXIT_UNAVAILABLE
from g4f_hailuo.cli.doctor import marks_for, report_lines
from g4f_hailuo.diagnosis.report import Report, Step
from g4f_hailuo.fake.agent.server import FakeAgent, run_in_thread
from g4f_hailuo.fake.common import make_jwt
from g4f_hailuo.fake.replay import run_in_thread as run_replay

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return make_home(tmp_path)


def doctor(
    home: Path, *args: str, key: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m g4f_hailuo doctor ARGS`` in an isolated ``home``, ``key`` as HAILUOAI_API_KEY."""
    extra = {"HAILUOAI_API_KEY": key} if key else {}
    return subprocess.run(
        [sys.executable, "-m", "g4f_hailuo", "doctor", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=isolated_env(home, {**extra, **(env or {})}),
        stdin=subprocess.DEVNULL,
        timeout=90,
    )


def stopped_at(
    done: subprocess.CompletedProcess[str], step: str, advice: str, code: int, *secrets: str
) -> None:
    """The diagnosis stopped at ``step`` with ``advice`` printed under it and exit ``code``."""
    shown = done.stdout + done.stderr
    assert done.returncode == code, shown
    assert f"\nFAIL {step} " in done.stdout, shown
    assert f"Stopped at {step} (exit code {code})." in done.stdout, shown
    advice_lines = [line.strip() for line in done.stdout.splitlines() if line.strip().startswith("->")]
    assert any(advice in line for line in advice_lines), shown
    assert "Traceback" not in shown
    for secret in secrets:
        assert secret not in shown


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def jwt(**claims: object) -> str:
    now = int(time.time())
    user = {"id": "3000000099", "name": "someone", "isAnonymous": False}
    return make_jwt(b"not the fake's secret", {"exp": now + 30 * 86400, "iat": now, "user": user, **claims})


# -- the whole chain ---------------------------------------------------------------------------------


def test_every_step_passes_and_the_generation_is_named(home, agent: FakeAgent, agent_token, agent_key):
    done = doctor(home, "--base-url", agent.url, key=agent_key)
    assert done.returncode == EXIT_OK, done.stdout + done.stderr
    names = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("OK ")]
    assert names == ["token", "claims", "site", "user/info", "config", "agents", "session", "turn"]
    assert "API generation: minimax-cloud" in done.stdout
    assert "All 8 checks passed." in done.stdout
    assert "HTTP 200" in done.stdout and 'code 0  "Success"' in done.stdout
    assert len(agent.message_requests()) == 1
    real_user_id = agent.real_user_id(agent_token)
    assert agent_token not in done.stdout and real_user_id not in done.stdout
    assert f"{real_user_id[:4]}…{real_user_id[-4:]}" in done.stdout  # masked, never whole


def test_no_chat_stops_before_the_turn_and_json_says_so(home, agent: FakeAgent, agent_token, agent_key):
    done = doctor(home, "--base-url", agent.url, "--no-chat", "--json", key=agent_key)
    assert done.returncode == EXIT_OK, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is True and report["exit_code"] == 0 and report["generation"] == "minimax-cloud"
    assert [step["name"] for step in report["steps"]][-1] == "session"
    assert {"name", "ok", "seconds", "http_status", "site_code", "site_message", "advice"} <= set(
        report["steps"][3]
    )
    assert not agent.message_requests()
    assert agent_token not in done.stdout and agent.real_user_id(agent_token) not in done.stdout


@pytest.mark.parametrize("missing", [False, "404"], ids=["app-page", "http-404"])
def test_an_account_without_the_session_api_is_served_matrix(home, agent: FakeAgent, agent_key, missing):
    agent.session_routes = missing
    done = doctor(home, "--base-url", agent.url, key=agent_key)
    assert done.returncode == EXIT_OK, done.stdout + done.stderr
    assert "API generation: matrix" in done.stdout
    assert "/minimax-cloud/api/v1 and /archon/api/v1 are not served" in done.stdout
    assert "agents" not in done.stdout.split("API generation")[0].split("config", 1)[1]
    assert any(r.path.endswith("/send_msg") for r in agent.requests)


def test_protocol_matrix_goes_straight_to_the_polling_api(home, agent: FakeAgent, agent_key):
    done = doctor(home, "--protocol", "matrix", "--base-url", agent.url, key=agent_key)
    assert done.returncode == EXIT_OK, done.stdout + done.stderr
    names = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("OK ")]
    assert names == ["token", "claims", "site", "user/info", "turn"]
    assert "API generation: matrix" in done.stdout
    assert not any(r.path.startswith(("/minimax-cloud", "/archon")) for r in agent.requests)


# -- the token ---------------------------------------------------------------------------------------


def test_no_token(home, agent: FakeAgent):
    done = doctor(home, "--base-url", agent.url)
    stopped_at(done, "token", "no token: run `g4f-hailuo login`", EXIT_AUTH)
    assert not agent.requests


def test_not_a_jwt(home, agent: FakeAgent, agent_token):
    done = doctor(home, "--base-url", agent.url, key=f'"{agent_token[:40]}"')
    stopped_at(done, "token", "this is not a JWT", EXIT_AUTH, agent_token[:40])
    assert not agent.requests


def test_a_plus_form_whose_realuserid_is_not_a_number(home, agent: FakeAgent, agent_token):
    done = doctor(home, "--base-url", agent.url, key=f"user-detail+{agent_token}")
    stopped_at(
        done, "token", "the part before '+' must be the realUserID, digits only", EXIT_AUTH, agent_token
    )
    assert not agent.requests


def test_the_jwt_user_id_given_as_the_realuserid(home, agent: FakeAgent, agent_token):
    jwt_user_id = agent.account(agent_token).jwt_user_id
    done = doctor(home, "--base-url", agent.url, key=f"{jwt_user_id}+{agent_token}")
    stopped_at(done, "token", "is the token's own user.id, not the realUserID", EXIT_AUTH, agent_token)


def test_an_expired_token(home, agent: FakeAgent):
    token = agent.issue_token(expires_in=-3 * 86400)
    done = doctor(home, "--base-url", agent.url, key=token)
    stopped_at(done, "claims", "the token expired 3 days ago: log in again", EXIT_AUTH, token)
    assert not agent.requests


def test_a_guest_token(home, agent: FakeAgent):
    token = jwt(user={"id": "1", "name": "", "isAnonymous": True})
    done = doctor(home, "--base-url", agent.url, key=token)
    stopped_at(done, "claims", "this is a guest token", EXIT_AUTH, token)


def test_claims_of_the_other_region_are_named_when_the_site_refuses(home, agent: FakeAgent):
    token = jwt(iss="https://agent.minimaxi.com")
    done = doctor(home, "--base-url", agent.url, key=token)
    assert "a token of region cn? If the site refuses it, use --region cn" in done.stdout
    stopped_at(done, "user/info", "belongs to the other region (try `--region cn`)", EXIT_AUTH, token)


# -- the site ----------------------------------------------------------------------------------------


def test_a_host_that_does_not_resolve(home, agent_key):
    done = doctor(home, "--base-url", "http://doctor-check.invalid", key=agent_key)
    stopped_at(done, "site", "does not resolve: check the base URL or --region", EXIT_UNAVAILABLE)


def test_nothing_listens(home, agent_key):
    done = doctor(home, "--base-url", f"http://127.0.0.1:{closed_port()}", key=agent_key)
    stopped_at(done, "site", "nothing accepts connections there", EXIT_UNAVAILABLE)


def test_tls_to_a_server_that_speaks_none(home, agent: FakeAgent, agent_key):
    https = agent.url.replace("http://", "https://")
    done = doctor(home, "--base-url", https, key=agent_key)
    stopped_at(done, "site", "the TLS handshake with", EXIT_UNAVAILABLE)


def test_a_proxy_that_does_not_answer(home, agent: FakeAgent, agent_key):
    proxy = f"http://127.0.0.1:{closed_port()}"
    done = doctor(home, "--base-url", agent.url, key=agent_key, env={"G4F_PROXY": proxy})
    stopped_at(done, "site", f"the proxy {proxy} does not answer", EXIT_UNAVAILABLE)
    assert not agent.requests


def test_a_cloudflare_challenge(home, agent: FakeAgent, agent_key):
    agent.scenario = "http_403"
    done = doctor(home, "--base-url", agent.url, key=agent_key)
    stopped_at(done, "turn", "Cloudflare challenge: the site's bot protection refuses", EXIT_UNAVAILABLE)
    assert "`impersonate` extra" in done.stdout and "HTTP 403" in done.stdout


AKAMAI_PAGE = (
    "<HTML><HEAD><TITLE>Access Denied</TITLE></HEAD><BODY><H1>Access Denied</H1>You don't have permission"
    " to access this server.<P>Reference&#32;&#35;18&#46;5f2d1402&#46;1780470413</P>"
    "<P>https&#58;&#47;&#47;errors&#46;edgesuite&#46;net</P></BODY></HTML>"
)


def test_an_akamai_page_on_the_site_itself(home, agent_key):
    page = {"status": 403, "headers": [["Server", "AkamaiGHost"], ["Content-Type", "text/html"]]}
    page["frames"] = [{"ms": 0, "data": AKAMAI_PAGE}]
    blocked = {"request": {"method": "GET", "path": "/"}, "response": page}
    site = run_replay({"format": "g4f-hailuo-recording", "exchanges": [blocked]}, pace="fast")
    try:
        done = doctor(home, "--base-url", site.url, key=agent_key)
    finally:
        site.stop()
    stopped_at(
        done, "site", "Akamai challenge: the site's bot protection refuses this client", EXIT_UNAVAILABLE
    )
    assert "HTTP 403" in done.stdout and '"Access Denied"' in done.stdout


# -- the account and its token on the site -----------------------------------------------------------


def test_a_token_the_site_refuses(home, agent: FakeAgent, agent_token, agent_key):
    agent.revoke(agent_token)
    done = doctor(home, "--base-url", agent.url, key=agent_key)
    stopped_at(
        done, "user/info", "the site refuses this token: it expired or was revoked", EXIT_AUTH, agent_token
    )
    assert "HTTP 401" in done.stdout


def test_a_realuserid_that_is_not_the_tokens_is_reported_never_adopted(home, agent: FakeAgent, agent_token):
    given = "999999999999999999"
    done = doctor(home, "--base-url", agent.url, key=f"{given}+{agent_token}")
    real = agent.real_user_id(agent_token)
    stopped_at(
        done,
        "user/info",
        "the realUserID you gave is not this token's: use the bare token, or the realUserID from Local"
        " Storage user_detail_agent",
        EXIT_AUTH,
        given,
        real,
        agent_token,
    )
    assert "9999…9999" in done.stdout and f"{real[:4]}…{real[-4:]}" in done.stdout
    assert [r.path for r in agent.requests] == ["/", "/v1/api/user/info"]  # nothing sent with either id
    devices = home / ".g4f" / "cookies" / "devices_g4f_hailuo.json"
    assert not devices.exists() or real not in devices.read_text()


def test_a_region_fence_answers_401_while_user_info_accepts(home, agent: FakeAgent, agent_key):
    agent.scenario = "http_401_empty"
    done = doctor(home, "--base-url", agent.url, key=agent_key)
    stopped_at(
        done,
        "turn",
        "the site answered 401 with an empty body while user/info accepts the token: a region fence — try"
        " `--region cn`",
        EXIT_AUTH,
    )
    assert "a proxy outside mainland China" in done.stdout


def test_an_account_without_an_agent(home, agent: FakeAgent, agent_token, agent_key):
    agent.account(agent_token).agents = []
    done = doctor(home, "--base-url", agent.url, key=agent_key)
    stopped_at(done, "agents", "the account has no agent yet: open the site, send one message", EXIT_AUTH)


def test_out_of_credits(home, agent: FakeAgent, agent_token, agent_key):
    agent.set_credits(agent_token, 0)
    done = doctor(home, "--base-url", agent.url, key=agent_key)
    stopped_at(done, "turn", "the account is out of credits", EXIT_AUTH)
    assert "not enough credits (1400010161)" in done.stdout  # the site's message


def test_the_token_plan_quota(home, agent: FakeAgent, agent_key):
    agent.scenario = "error_quota"
    done = doctor(home, "--base-url", agent.url, key=agent_key)
    stopped_at(done, "turn", "the account's Token Plan quota is used up", EXIT_UNAVAILABLE)


def test_the_account_busy_with_another_reply(home, agent: FakeAgent, agent_key):
    agent.scenario = "busy"
    done = doctor(home, "--base-url", agent.url, key=agent_key)
    stopped_at(done, "turn", "the account is busy with another reply", EXIT_UNAVAILABLE)


def test_rate_limited(home, agent: FakeAgent, agent_key):
    agent.scenario = "http_429 retry=9"
    done = doctor(home, "--base-url", agent.url, key=agent_key)
    stopped_at(
        done, "turn", "the site rate-limits this account or network: wait 9 s (Retry-After)", EXIT_UNAVAILABLE
    )
    assert "HTTP 429" in done.stdout


def test_the_site_failing(home, agent: FakeAgent, agent_key):
    agent.scenario = "http_500_html"
    done = doctor(home, "--base-url", agent.url, key=agent_key)
    stopped_at(done, "turn", "the site is failing (HTTP 500): try again later", EXIT_UNAVAILABLE)
    assert '"500 Internal Server Error"' in done.stdout  # the error page's title


def test_the_web_page_instead_of_the_api(home, agent: FakeAgent, agent_key):
    agent.scenario = "html_200"
    done = doctor(home, "--base-url", agent.url, key=agent_key)
    stopped_at(done, "turn", "the site answered with its web page instead of the API", EXIT_UNAVAILABLE)


def test_a_clock_the_site_does_not_accept(home, agent_key):
    fake = run_in_thread(clock=lambda: time.time() + 3600)
    try:
        key = fake.api_key(fake.issue_token())
        done = doctor(home, "--base-url", fake.url, key=key)
        stopped_at(
            done,
            "user/info",
            "the site refused the request's signature: check this machine's clock",
            EXIT_ERROR,
        )
    finally:
        fake.stop()


def test_no_answer_in_time(home, agent: FakeAgent, agent_key):
    agent.scenario = "stall_before seconds=10"
    done = doctor(home, "--base-url", agent.url, "--timeout", "1", key=agent_key)
    stopped_at(done, "turn", "the site did not answer in time", EXIT_UNAVAILABLE)


def test_only_keep_alives(home, agent: FakeAgent, agent_key):
    agent.scenario = "heartbeat_stall seconds=10"
    done = doctor(home, "--base-url", agent.url, "--timeout", "1", key=agent_key)
    stopped_at(done, "turn", "the site accepted the request but sent no answer for 1 s", EXIT_UNAVAILABLE)


def test_a_reply_cut_off(home, agent: FakeAgent, agent_key):
    agent.scenario = "drop"
    done = doctor(home, "--base-url", agent.url, key=agent_key)
    stopped_at(done, "turn", "the connection was cut", EXIT_UNAVAILABLE)


# -- the /v4 chat ------------------------------------------------------------------------------------


def test_the_hailuo_v4_chain(home):
    from g4f_hailuo.fake.hailuo_v4.server import run_in_thread as run_v4

    fake = run_v4()
    try:
        token = fake.issue_token(with_device_id=False)
        done = doctor(home, "--protocol", "hailuo-v4", "--base-url", fake.url, key=token)
        assert done.returncode == EXIT_OK, done.stdout + done.stderr
        names = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("OK ")]
        assert names == ["token", "claims", "site", "device", "user/info", "turn"]
        assert "registered now, remembered" in done.stdout and token not in done.stdout
        fake.revoke(token)
        done = doctor(home, "--protocol", "hailuo-v4", "--base-url", fake.url, key=token)
        assert "remembered for the account" in done.stdout
        stopped_at(done, "user/info", "the site refuses this token", EXIT_AUTH, token)
    finally:
        fake.stop()


# -- the text itself ----------------------------------------------------------------------------------


class _Terminal(io.StringIO):
    encoding = "utf-8"

    def isatty(self) -> bool:
        return True


def test_marks_are_ticks_on_a_utf8_terminal_and_words_elsewhere():
    assert marks_for(_Terminal()) == ("✓", "✗", "→")
    assert marks_for(io.StringIO()) == ("OK", "FAIL", "->")
    report = Report("agent", "https://agent.minimax.io", "intl")
    report.steps += [Step("token", True, detail="a JWT"), Step("site", False, advice="do this", exit_code=4)]
    lines = report_lines(report, marks_for(_Terminal()))
    assert (
        lines[1].startswith("✓ token") and lines[2].startswith("✗ site") and lines[3].strip() == "→ do this"
    )
    assert lines[-1] == "Stopped at site (exit code 4)."
