"""Output: Rich for people, one JSON document for scripts, diagnostics on stderr, secrets never."""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime
from enum import Enum
from typing import IO, Any, Protocol

from rich.console import Console, RenderableType

from vmssroll.redaction import redact

# C0 and C1 controls (but newline and tab), DEL and the bidirectional overrides: from a server, they could
# move the cursor, retitle the window, hide text or reorder it. Shown escaped in table and line output.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def escape_controls(text: str) -> str:
    """`text` with every control character written as a visible escape (\\x1b, \\u202e)."""
    if not _UNSAFE.search(text):
        return text
    return _UNSAFE.sub(
        lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", text
    )


class SafeConsole(Console):
    """A Console whose text segments have their control characters escaped before they reach the terminal.

    Rich's own styles and cursor movements are not text segments (styles are rendered from Style objects after
    this, cursor moves are control segments), so they pass; a server's escape sequence inside a value does
    not."""

    def render(self, renderable: Any, options: Any = None) -> Any:
        from rich.segment import Segment

        for segment in super().render(renderable, options):
            if segment.control or not _UNSAFE.search(segment.text):
                yield segment
            else:
                yield Segment(escape_controls(segment.text), segment.style, segment.control)

    def on_broken_pipe(self) -> None:
        raise BrokenPipeError  # handled once, at the command's error boundary (quiet, exit 141)


class RedactingStream:
    """A text stream that removes secrets from everything written through it."""

    def __init__(self, inner: IO[str]) -> None:
        self._inner = inner

    def write(self, text: str) -> int:
        self._inner.write(redact(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _Streams(Protocol):
    stdout: IO[str]
    stderr: IO[str]
    width: int | None

    def is_terminal(self) -> bool: ...


class Out:
    """Where a command writes: the result on stdout (table or JSON), everything else on stderr."""

    def __init__(self, env: _Streams, *, json: bool) -> None:
        terminal = env.is_terminal()
        self.json = json
        self.wrote_result = False  # stdout holds the command's result document
        self.streaming = False  # stdout is a JSON Lines stream of events (a watch began, or wrote one)
        self.terminal = terminal
        self.stdout = SafeConsole(
            file=RedactingStream(env.stdout),  # type: ignore[arg-type]
            force_terminal=terminal,
            width=env.width or (None if terminal else 160),
            highlight=False,
            soft_wrap=not terminal,
        )
        self.stderr = SafeConsole(
            file=RedactingStream(env.stderr),  # type: ignore[arg-type]
            force_terminal=terminal,
            width=env.width or (None if terminal else 160),
            highlight=False,
        )

    def result(self, document: Any, renderable: RenderableType | None = None) -> None:
        """The command's answer: JSON with -o json, else the renderable."""
        if self.json:
            self.stdout.file.write(
                json.dumps(document, indent=2, default=json_default, ensure_ascii=False) + "\n"
            )
            self.stdout.file.flush()
            self.wrote_result = True
        elif renderable is not None:
            self._print(self.stdout, renderable)

    def _print(self, console: Console, renderable: RenderableType) -> None:
        """Off a terminal, without the spaces Rich pads rows with (they end up in files and diffs)."""
        if self.terminal:
            console.print(renderable)
            return
        with console.capture() as captured:
            console.print(renderable)
        console.file.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))
        console.file.flush()

    def event(self, document: Any) -> None:
        """One JSON Lines event (watch)."""
        self.stdout.file.write(
            json.dumps(document, default=json_default, separators=(",", ":"), ensure_ascii=False) + "\n"
        )
        self.stdout.file.flush()
        self.streaming = True

    def note(self, message: str) -> None:
        self.stderr.print(redact(message), markup=False, soft_wrap=True)

    def warn(self, message: str) -> None:
        self.stderr.print(f"[yellow]warning:[/] {_escape(redact(message))}", soft_wrap=True)

    def say(self, renderable: RenderableType) -> None:
        """Human progress on stderr (kept off stdout so JSON stays one document)."""
        self._print(self.stderr, renderable)

    def error(self, err: Any, *, verbose: bool) -> None:
        """One `error:` line per problem (most failures have one), the hint and request id on the last.

        With -o json the failure is also JSON on stdout: the document `{"error": {...}}`, or the line
        `{"event": "error", "error": {...}}` ending a JSON Lines stream; unless the command already gave its
        result document there, which then stays the only one.
        """
        if self.json and not self.wrote_result:
            doc = err.to_json()
            doc["error"] = {k: redact(v) if isinstance(v, str) else v for k, v in doc["error"].items()}
            if self.streaming:
                self.event({"event": "error", **doc})
            else:
                self.result(doc)
        problems = getattr(err, "problems_text", None) or [err.message]
        lines = [f"error: {single_line(message)}" for message in problems]
        hint = single_line(getattr(err, "hint", None) or "")
        if hint:  # in parentheses, unless that would nest them: one level reads, "(...))" does not
            lines[-1] += (
                f"; {hint}" if "(" in hint or ")" in hint or lines[-1].endswith(")") else f" ({hint})"
            )
        if verbose and getattr(err, "request_id", None):
            lines[-1] += f" [request id {err.request_id}]"
        for line in lines:
            self.stderr.print(f"[red]{_escape(redact(line))}[/]", soft_wrap=True)


def single_line(text: str) -> str:
    """A message that may come from a server (Azure's error message) on one line: its line breaks, with the
    blanks around them, become one space, so that each problem stays one `error:` line."""
    return _BREAKS.sub(" ", text).strip()


_BREAKS = re.compile(r"\s*[\r\n\v\f\u2028\u2029\x85]+\s*")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, Enum):
        return value.value
    if hasattr(value, "to_json"):
        return value.to_json()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = escape_controls(redact(record.getMessage()))
        record.args = None
        return True


class _Formatter(logging.Formatter):
    """vmssroll's warnings read like its other lines (`warning: ...`); everything else keeps its logger."""

    def format(self, record: logging.LogRecord) -> str:
        if record.name == "vmssroll.requests":
            return f"http: {record.getMessage()}"
        if record.name.startswith("vmssroll") and record.levelno >= logging.WARNING and not record.exc_info:
            return f"{record.levelname.lower()}: {record.getMessage()}"
        return super().format(record)


def configure_logging(stream: IO[str], *, verbose: bool, debug: bool) -> None:
    """Logs to stderr, every record passed through the redactor; the SDK's HTTP log only with --debug."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_vmssroll", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream)
    handler._vmssroll = True  # type: ignore[attr-defined]
    handler.addFilter(RedactingFilter())
    handler.setFormatter(_Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("vmssroll").setLevel(
        logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    )
    logging.getLogger("azure").setLevel(logging.DEBUG if debug else logging.ERROR)
    logging.getLogger("azure.identity").setLevel(logging.CRITICAL)
    # vmssroll.requests shows each request with its headers (secrets redacted) and bodies; the SDK's own HTTP
    # log would repeat the headers without the bodies.
    logging.getLogger("azure.core.pipeline.policies.http_logging_policy").setLevel(logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.DEBUG if debug else logging.ERROR)
