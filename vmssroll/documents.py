"""Reading JSON and YAML documents from files a user (or an attacker) hands us: bounded and unsurprising.

Shared by policy files (`--file`) and emulator scenarios, so it depends on nothing but the standard library
and PyYAML. A file must be a regular file (a FIFO or a device would block or never end), at most `MAX_BYTES`
long (read in one bounded read, never whole), nested at most `MAX_DEPTH` deep, with no duplicate keys. YAML
aliases are refused (their expansion is how a few hundred bytes become gigabytes), and so are YAML 1.1's
surprises, the plain scalars PyYAML would silently turn into something else: `yes`/`no`/`on`/`off` into
booleans, `010` into 8, `0x0a` into 10, `1:30` into 90. Quoting them keeps them as text. Messages quote
nothing of the file but a line number and a short, escaped excerpt.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from pathlib import Path
from typing import Any

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 32
_EXCERPT = 40
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


class DocumentError(ValueError):
    """A file that cannot be read as a document; the message is safe to print as it is."""


def excerpt(text: str) -> str:
    """A short, escaped quotation of a value from a file."""
    quoted = _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", repr(text[:_EXCERPT]))
    return quoted + ("…" if len(text) > _EXCERPT else "")


def read_bounded(path: str | Path, *, limit: int = MAX_BYTES) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; anything else is a DocumentError.

    The file is opened without blocking (opening a FIFO for reading would otherwise wait for a writer forever)
    and checked with fstat on the open descriptor, so what is checked is what is read."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise DocumentError(exc.strerror or errno.errorcode.get(exc.errno or 0, "cannot be opened")) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else "a FIFO, device or socket"
            raise DocumentError(f"not a regular file ({kind})")
        if info.st_size > limit:
            raise DocumentError(f"too large ({info.st_size} bytes; at most {limit})")
        chunks: list[bytes] = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 65536))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) > limit:
            raise DocumentError(f"too large (more than {limit} bytes)")
        return data
    except OSError as exc:
        raise DocumentError(exc.strerror or "cannot be read") from None
    finally:
        os.close(fd)


def load_file(path: str | Path, *, yaml_if: bool | None = None) -> Any:
    """Read and parse a file: YAML when its name ends in .yaml/.yml (or `yaml_if` says so), else JSON."""
    data = read_bounded(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise DocumentError("not UTF-8 text") from None
    is_yaml = yaml_if if yaml_if is not None else Path(path).suffix.lower() in (".yaml", ".yml")
    return parse_yaml(text) if is_yaml else parse_json(text)


# JSON ------------------------------------------------------------------------------------------------------


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise DocumentError(f"duplicate key {excerpt(key)}")
        seen[key] = value
    return seen


def _constant(name: str) -> Any:
    raise DocumentError(f"{name} is not a JSON number")


def parse_json(text: str) -> Any:
    """JSON with duplicate keys, NaN/Infinity and deep nesting refused."""
    try:
        document = json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant)
    except DocumentError:
        raise
    except RecursionError:
        raise DocumentError(f"nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as exc:
        where = f" at line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise DocumentError(f"not valid JSON{where}") from None
    _check_depth(document)
    return document


def _check_depth(document: Any) -> None:
    stack = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > MAX_DEPTH:
                    raise DocumentError(f"nested more than {MAX_DEPTH} levels deep")
                stack.append((child, depth + 1))


# YAML ------------------------------------------------------------------------------------------------------

# Plain scalars YAML 1.1 converts and YAML 1.2 (or a reader's intuition) would not: refused, to be quoted.
_YAML11_BOOL = re.compile(r"yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF")
_YAML11_INT = re.compile(
    r"[-+]?(?:0[0-7_]+|0x[0-9a-fA-F_]+|0o[0-7_]+|0b[01_]+|[0-9][0-9_]*(?::[0-5]?[0-9])+|[0-9]+_[0-9_]*)"
)
_YAML11_FLOAT = re.compile(r"[-+]?(?:[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[0-9][0-9_]*_[0-9_]*\.[0-9_]*)")


def parse_yaml(text: str) -> Any:
    """YAML without aliases, merge keys, duplicate keys, deep nesting or YAML 1.1 conversions."""
    import yaml

    class StrictLoader(yaml.SafeLoader):
        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                mark = self.peek_event().start_mark
                raise DocumentError(f"YAML aliases (*name) are not accepted (line {mark.line + 1})")
            self.depth += 1
            try:
                if self.depth > MAX_DEPTH:
                    mark = self.peek_event().start_mark
                    raise DocumentError(f"nested more than {MAX_DEPTH} levels deep (line {mark.line + 1})")
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise DocumentError(
                        f"YAML merge keys (<<) are not accepted (line {key_node.start_mark.line + 1})"
                    )
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:
                    raise DocumentError(
                        f"a key that is not text (line {key_node.start_mark.line + 1})"
                    ) from None
                if duplicate:
                    raise DocumentError(
                        f"duplicate key {excerpt(str(key))} (line {key_node.start_mark.line + 1})"
                    )
            return super().construct_mapping(node, deep=deep)

        def construct_scalar(self, node: Any) -> Any:
            value = super().construct_scalar(node)
            if node.style is None and isinstance(value, str):
                for pattern, meaning in (
                    (_YAML11_BOOL, "a YAML 1.1 boolean"),
                    (_YAML11_INT, "a YAML 1.1 number (octal, hex, binary, base 60 or with _)"),
                    (_YAML11_FLOAT, "a YAML 1.1 number (base 60 or with _)"),
                ):
                    if pattern.fullmatch(value):
                        raise DocumentError(
                            f"{excerpt(value)} (line {node.start_mark.line + 1}) is {meaning}: write true/false "
                            "or a plain decimal number, or quote it to keep it as text"
                        )
            return value

    try:
        return yaml.load(text, Loader=StrictLoader)
    except DocumentError:
        raise
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise DocumentError(f"not valid YAML{where}") from None
    except RecursionError:
        raise DocumentError(f"nested more than {MAX_DEPTH} levels deep") from None
