"""``g4f-hailuo chat``: an interactive, streamed, multi-turn chat through g4f (or the messages
of ``-m``, or one message per line of a pipe)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from g4f_hailuo.cli.account import claims_user, current_logins
from g4f_hailuo.cli.common import (
    EXIT_AUTH,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    NOT_LOGGED_IN,
    PROG,
    TOKEN_ENV,
    CommandError,
    add_site_options,
    describe,
    exit_code_for,
    is_tty,
    resolve_site,
    site_options,
    when,
)
from g4f_hailuo.cli.spinner import Spinner

CHAT_HELP = (
    "/new starts a new chat, /exit (or Ctrl-D) quits, Ctrl-C stops an answer or clears the line "
    "(twice in a row quits)."
)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``chat`` command in ``commands`` (the main parser's subparsers)."""
    chat = commands.add_parser(
        "chat",
        help="chat with Hailuo through g4f (streamed, multi-turn)",
        description=(
            "Chat with Hailuo AI through g4f: each answer streams in, and the chat goes on "
            "until you quit. " + CHAT_HELP + " Without a terminal, each line of standard input "
            f"is one message. Uses {TOKEN_ENV} if set, else the login cache (`{PROG} login`)."
        ),
    )
    chat.add_argument(
        "-m",
        "--message",
        action="append",
        metavar="TEXT",
        help="send TEXT instead of reading input (repeatable)",
    )
    chat.add_argument("--model", default="MiniMax", help="the model name (default: MiniMax)")
    chat.add_argument(
        "--reasoning",
        choices=("on", "off"),
        help="the model's thinking on or off (default: the model's own), shown dimmed before the answer",
    )
    chat.add_argument(
        "--attach",
        action="append",
        metavar="FILE",
        help="send FILE (an image or a document) with the first message (repeatable)",
    )
    add_site_options(chat)
    chat.set_defaults(handler=cmd_chat)


class _Chat:
    """One chat's state: the history and the Hailuo conversation to continue."""

    def __init__(self, args: argparse.Namespace, out: TextIO, err: TextIO) -> None:
        self.args = args
        self.out = out
        self.err = err
        self.messages: list[dict[str, str]] = []
        self.conversation: Any = None
        self.title: str | None = None

    def reset(self) -> None:
        self.messages = []
        self.conversation = None
        self.title = None

    def _options(self) -> dict[str, Any]:
        """The per-message options: thinking on/off, and the attached files with the first message."""
        options: dict[str, Any] = {}
        if self.args.reasoning:
            options["reasoning_effort"] = "medium" if self.args.reasoning == "on" else "none"
        if self.args.attach and not self.messages:
            options["media"] = [(Path(name), Path(name).name) for name in self.args.attach]
        return options

    def ask(self, prompt: str) -> str:
        """Send ``prompt``, stream the answer to ``out``; the history keeps it only on success."""
        import g4f
        from g4f.providers.response import JsonConversation, Reasoning, TitleGeneration

        messages = [*self.messages, {"role": "user", "content": prompt}]
        parts: list[str] = []
        thinking = False  # the thinking is being written (dimmed on a terminal)
        dim, plain = ("\x1b[2m", "\x1b[0m") if is_tty(self.out) else ("", "")
        reader_left = False
        spinner = Spinner("waiting for Hailuo", self.err).start()
        stream = g4f.ChatCompletion.create(
            model=self.args.model,
            messages=messages,
            provider="HailuoAI",
            stream=True,
            conversation=self.conversation,
            **site_options(self.args),
            **self._options(),
        )
        try:
            # closing: a stream left mid-answer (the reader went away) ends here, its connection
            # closed on g4f's loop, rather than at interpreter exit with an error from its clean-up.
            with contextlib.closing(stream):
                for chunk in stream:
                    if isinstance(chunk, Reasoning) and (chunk.token or chunk.status):
                        spinner.stop()
                        if not thinking:
                            self.out.write(dim)
                            thinking = True
                        self.out.write(chunk.token or f"[{chunk.status}]\n")
                        self.out.flush()
                    elif isinstance(chunk, str):
                        if chunk:
                            spinner.stop()
                            if thinking:
                                self.out.write(f"{plain}\n")
                                thinking = False
                            parts.append(chunk)
                            self.out.write(chunk)
                            self.out.flush()
                    elif isinstance(chunk, JsonConversation):
                        self.conversation = chunk
                    elif isinstance(chunk, TitleGeneration) and self.title is None:
                        self.title = chunk.title
        except BrokenPipeError:  # the reader of the answer went away: write nothing more (see main)
            reader_left = True
            raise
        finally:
            spinner.stop()
            if thinking and not reader_left:
                self.out.write(plain)
            if parts and not reader_left:
                self.out.write("\n")
                self.out.flush()
        answer = "".join(parts)
        self.messages = [*messages, {"role": "assistant", "content": answer}]
        return answer


def _prompts(args: argparse.Namespace, stdin: TextIO, err: TextIO) -> Iterator[str]:
    if args.message:
        yield from args.message
        return
    if not is_tty(stdin):
        yield from (line.rstrip("\r\n") for line in stdin)
        return
    with contextlib.suppress(ImportError):  # line editing and history, where the platform has them
        import readline  # noqa: F401
    interrupted = False  # the last prompt ended with Ctrl-C
    while True:
        try:
            line = input("you> ")
        except EOFError:
            err.write("\n")
            return
        except KeyboardInterrupt:
            if interrupted:
                raise  # a second Ctrl-C in a row quits (main: exit code 130)
            interrupted = True
            err.write("\n(line cleared; Ctrl-C again or Ctrl-D quits)\n")
            continue
        interrupted = False
        yield line


def _check_model(model: str, protocol: str | None) -> None:
    """An unknown model is a usage error, found before anything is sent."""
    from g4f.errors import ModelNotFoundError

    from g4f_hailuo.provider import HailuoAI

    try:
        HailuoAI.get_model(model, protocol=protocol)
    except ModelNotFoundError as error:
        raise CommandError(describe(error), EXIT_USAGE) from None


def cmd_chat(args: argparse.Namespace) -> int:
    settings = resolve_site(args)
    _check_model(args.model, args.protocol)
    for name in args.attach or ():
        if not Path(name).is_file():
            raise CommandError(f"--attach {name}: no such file", EXIT_USAGE)
    _source, identities = current_logins(settings)
    if not identities:
        raise CommandError(NOT_LOGGED_IN, EXIT_AUTH)
    usable = [identity for identity in identities if not identity.is_expired()]
    if not usable:
        last = max(identity.expires_at or 0 for identity in identities)
        raise CommandError(f"The Hailuo token expired on {when(last)}: run `{PROG} login` again.", EXIT_AUTH)
    identity = usable[0]
    from g4f import debug
    from g4f.errors import G4FError

    debug.version_check = False  # else g4f asks PyPI for its newest version and prints the answer
    out, err = sys.stdout, sys.stderr
    interactive = not args.message and is_tty(sys.stdin)
    chat = _Chat(args, out, err)
    if interactive:
        name = claims_user(identity).get("name") or "your account"
        err.write(f"Hailuo AI through g4f, as {name}, at {settings.origin}. {CHAT_HELP}\n")
    for line in _prompts(args, sys.stdin, err):
        prompt = line.strip()
        if not prompt:
            continue
        if prompt in ("/exit", "/quit"):
            break
        if prompt == "/help":
            err.write(CHAT_HELP + "\n")
            continue
        if prompt == "/new":
            chat.reset()
            err.write("(a new chat starts with your next message)\n")
            continue
        had_title = chat.title is not None
        try:
            chat.ask(prompt)
        except KeyboardInterrupt:
            err.write("\n(answer stopped)\n")
            if not interactive:
                return EXIT_INTERRUPTED
            continue
        except G4FError as error:
            err.write(f"{PROG} chat: {describe(error)}\n")
            code = exit_code_for(error)
            if not interactive or code == EXIT_AUTH:
                return code
            continue
        if chat.title and not had_title:
            err.write(f"(chat title: {chat.title})\n")
    return EXIT_OK
