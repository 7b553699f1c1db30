"""What a diagnosis finds (pure): one :class:`Step` per check, the :class:`Report` of them all, and
how a step's action says it passed (:class:`Passed`) or why it failed (:class:`Failed`).

Nothing here holds a secret: a step's ``detail`` shows ids only through :func:`mask`, and its
``advice`` names none at all (it goes into recordings as it is).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from g4f_hailuo.cli.common import EXIT_OK

__all__ = ["Failed", "Passed", "Report", "Step", "mask"]


def mask(value: str | None) -> str:
    """At most the first 4 and the last 4 characters of a secret (fewer of a short one)."""
    if not value:
        return "(none)"
    if len(value) >= 12:
        return f"{value[:4]}…{value[-4:]}"
    if len(value) >= 6:
        return f"{value[:2]}…{value[-2:]}"
    return "…"


@dataclass
class Step:
    """One check: its name, whether it passed, how long it took, what the site answered (the
    last HTTP exchange of the step, if any), what was found and what to do."""

    name: str
    ok: bool
    seconds: float = 0.0
    http_status: int | None = None
    site_code: int | None = None
    site_message: str | None = None
    advice: str | None = None
    detail: str = ""
    exit_code: int = EXIT_OK  # a failed step's: the exit code of the whole diagnosis

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Report:
    """Every step until the first failure (all of them when none failed)."""

    protocol: str
    site: str
    region: str
    steps: list[Step] = field(default_factory=list)
    generation: str | None = None  # the MiniMax Agent API the account is served (its path prefix or "matrix")
    reply: str | None = None  # the test turn's text
    error: str | None = None  # the g4f error type of the failed step, if it raised one
    accounts: int = 0  # accounts found; the first is checked

    @property
    def failed(self) -> Step | None:
        return next((step for step in self.steps if not step.ok), None)

    @property
    def ok(self) -> bool:
        return self.failed is None

    @property
    def exit_code(self) -> int:
        failed = self.failed
        return EXIT_OK if failed is None else failed.exit_code

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "exit_code": self.exit_code,
            "protocol": self.protocol,
            "site": self.site,
            "region": self.region,
            "generation": self.generation,
            "accounts": self.accounts,
            "steps": [step.as_dict() for step in self.steps],
            "reply": self.reply,
            "error": self.error,
        }

    def outcome(self) -> dict[str, Any]:
        """What a recording keeps of the diagnosis (no times, no details): what a replay of it
        must give again."""
        steps = [
            {
                "name": step.name,
                "ok": step.ok,
                "http_status": step.http_status,
                "site_code": step.site_code,
                "site_message": step.site_message,
                "advice": step.advice,
            }
            for step in self.steps
        ]
        return {"steps": steps, "generation": self.generation, "text": self.reply, "error": self.error}


@dataclass
class Passed:
    """A step's action passed: what it found, and advice worth heeding all the same."""

    detail: str
    advice: str | None = None


class Failed(Exception):
    """A step's action found a problem (not an error the site raised): its advice and exit code."""

    def __init__(self, advice: str, exit_code: int, detail: str = "") -> None:
        super().__init__(advice)
        self.advice = advice
        self.exit_code = exit_code
        self.detail = detail
