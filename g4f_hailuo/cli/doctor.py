"""``g4f-hailuo doctor``: the way to the site checked step by step (``g4f_hailuo.diagnosis``),
stopping at the first failure, each step with what to do; ``--record FILE`` writes the exchange
with nothing secret in it. This module only prints."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from typing import TYPE_CHECKING, Any, TextIO

from g4f_hailuo.cli.account import current_logins
from g4f_hailuo.cli.common import (
    EXIT_USAGE,
    PROG,
    TOKEN_ENV,
    CommandError,
    add_site_options,
    is_tty,
    site_options,
)

if TYPE_CHECKING:
    from g4f_hailuo._config import Settings
    from g4f_hailuo.diagnosis.report import Report

RECORD_ENV = "HAILUOAI_RECORD"  # transport.recording.RECORD_ENV (not imported: --help stays fast)
_SITES = {"agent": "MiniMax Agent", "matrix": "MiniMax Agent (polling API)", "hailuo-v4": "Hailuo /v4 chat"}
_GENERATIONS = {
    "minimax-cloud": "minimax-cloud (Gen C: /minimax-cloud/api/v1, sessions and streamed turns)",
    "archon": "archon (Gen B: /archon/api/v1, sessions and streamed turns)",
    "matrix": "matrix (Gen A: /matrix/api/v1/chat, the older polling API)",
}


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``doctor`` command in ``commands`` (the main parser's subparsers)."""
    doctor = commands.add_parser(
        "doctor",
        help="check the way to the site step by step, and say what to do about a failure",
        description=(
            "Check, with the token the provider would use (the first account), each step to a reply: "
            "the token and its claims, the site reachable (DNS, TLS, proxy, bot protection), user/info "
            "(and that the realUserID is the token's), /config (which API generation the account is "
            "served) and the agent list, a session, one short turn; under hailuo-v4 the device, "
            "user/info and one chat. Stops at the first failure and says what to do. Never prints a "
            "token or a realUserID in full. Exit codes: 0 all passed, 1 failed, 2 bad usage, 3 the "
            "token or the account, 4 the site unreachable, blocked, rate limited or failing."
        ),
    )
    add_site_options(doctor)
    doctor.add_argument("--json", action="store_true", help="print a JSON object")
    doctor.add_argument(
        "--no-chat", action="store_true", help="stop before the test turn (it spends credits)"
    )
    doctor.add_argument(
        "--record",
        metavar="FILE",
        help=f"write the exchange to FILE, secrets and personal values replaced (also ${RECORD_ENV})",
    )
    doctor.add_argument(
        "--timeout", metavar="S", help="bound on connecting and on each wait for data (default 30 s / 120 s)"
    )
    doctor.set_defaults(handler=cmd_doctor)


def _settings(args: argparse.Namespace) -> Settings:
    """The site options; one attempt per request (a diagnosis shows what the site answered)."""
    from g4f.errors import BadRequestError

    from g4f_hailuo._config import resolve_settings

    try:
        settings = resolve_settings(**site_options(args), timeout=args.timeout)
    except BadRequestError as error:
        raise CommandError(str(error), EXIT_USAGE) from None
    return dataclasses.replace(settings, retries=0)


def cmd_doctor(args: argparse.Namespace) -> int:
    import asyncio

    from g4f_hailuo.diagnosis import diagnose
    from g4f_hailuo.transport import recording

    settings = _settings(args)
    source, identities = current_logins(settings)
    path = args.record or os.environ.get(RECORD_ENV, "").strip() or None
    recorder = recording.Recorder(path, protocol=settings.protocol)
    recording.start(recorder)
    try:
        report = asyncio.run(diagnose(settings, source, identities, recorder, chat=not args.no_chat))
    finally:
        recording.stop(recorder)
    if path:
        recorder.outcome = report.outcome()
        try:
            recorder.save()
        except OSError as error:
            raise CommandError(f"cannot write the recording to {path} ({error.strerror or error})") from None
    if args.json:
        print(json.dumps({**report.as_dict(), "recording": path}, ensure_ascii=False, indent=2))
    else:
        print("\n".join(report_lines(report, marks_for(sys.stdout), path)))
    return report.exit_code


def marks_for(stream: TextIO) -> tuple[str, str, str]:
    """Passed, failed and advice marks: ✓ ✗ → on a UTF-8 terminal, else OK FAIL ->."""
    encoding = (getattr(stream, "encoding", "") or "").lower().replace("-", "").replace("_", "")
    if is_tty(stream) and encoding == "utf8":
        return "✓", "✗", "→"
    return "OK", "FAIL", "->"


def _said(step: Any) -> str:
    parts = [f"HTTP {step.http_status}"] if step.http_status is not None else []
    if step.site_code is not None:
        parts.append(f"code {step.site_code}")
    if step.site_message:
        parts.append(json.dumps(step.site_message, ensure_ascii=False))
    return "  ".join(parts)


def report_lines(report: Report, marks: tuple[str, str, str], recorded: str | None = None) -> list[str]:
    """The report as text: a line per step (mark, name, time, the site's answer, what was found),
    its advice below it, then the API generation and the verdict."""
    passed, failed, arrow = marks
    width = max(len(passed), len(failed))
    site = _SITES.get(report.protocol, report.protocol)
    lines = [f"{site} at {report.site} (protocol {report.protocol}, region {report.region})"]
    for step in report.steps:
        mark = (passed if step.ok else failed).ljust(width)
        fields = [f"{step.seconds * 1000:5.0f} ms", _said(step), step.detail]
        lines.append(f"{mark} {step.name:<10}" + "  ".join(field for field in fields if field))
        if step.advice:
            lines.append(f"{' ' * width}   {arrow} {step.advice}")
    if report.generation:
        lines.append(f"API generation: {_GENERATIONS.get(report.generation, report.generation)}")
    failure = report.failed
    if failure is None:
        lines.append(f"All {len(report.steps)} checks passed.")
    else:
        lines.append(f"Stopped at {failure.name} (exit code {failure.exit_code}).")
        if failure.name == "token" and not report.accounts:
            lines.append(
                f"(looked in {TOKEN_ENV}, the .env and login cache of g4f's cookies dir, .har files)"
            )
    if recorded:
        lines.append(
            f"Recorded to {recorded} (tokens, ids and personal values replaced; `{PROG} serve-fake"
            f" --replay {recorded}` plays it back)."
        )
    return lines
