"""Reading a playbook or catalog file into plain data with each field's line, within fixed bounds.

A playbook file is configuration someone may have copied from anywhere, so reading it must be
bounded before anything is validated: a 367-byte "billion laughs" file (nested aliases) once took
`playbooks check` to 5.9 GB, a recursive alias or a 100,000-deep list overflowed the stack, a
non-UTF-8 byte gave a traceback. So: the file is capped in size, aliases are refused (nothing in a
playbook needs them, and refusing is simpler to trust than capping what they expand to), nesting
is capped in depth, and every refusal is a `PlaybookError` reading `file:line: field: problem`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MAX_FILE_BYTES = 512 * 1024  # the built-in playbooks are about 2 kB each
MAX_DEPTH = 32  # nesting levels: a playbook uses five

Path_ = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a playbook or catalog file."""

    file: str
    line: int | None
    field: str
    problem: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field or '(top level)'}: {self.problem}"


class PlaybookError(ValueError):
    """A playbook or catalog file is malformed. `str()` reads `file:line: field: problem`, one line
    per problem; `problems` holds them all and `file`, `line`, `field`, `problem` the first."""

    def __init__(
        self, file: str, line: int | None, field: str, problem: str, more: Sequence[Problem] = ()
    ) -> None:
        self.problems: tuple[Problem, ...] = (Problem(file, line, field, problem), *more)
        self.file, self.line, self.field, self.problem = file, line, field, problem
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def of(cls, problems: Sequence[Problem]) -> PlaybookError:
        first, *more = problems
        return cls(first.file, first.line, first.field, first.problem, more)


class _Refused(Exception):
    def __init__(self, mark: Any, problem: str) -> None:
        super().__init__(problem)
        self.line = mark.line + 1 if mark is not None else None
        self.problem = problem


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe composer, refusing aliases and nesting past `MAX_DEPTH` before it recurses."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _Refused(
                event.start_mark,
                f"YAML aliases (*{event.anchor}) are not allowed in playbook files; write the value out",
            )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(self.peek_event().start_mark, f"nested more than {MAX_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_SCALARS = yaml.SafeLoader("")


def _build(node: yaml.Node, path: Path_, lines: dict[Path_, int], file: str) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise PlaybookError(
                    file, key_node.start_mark.line + 1, ".".join(map(str, path)), "a key must be plain text"
                )
            key = key_node.value
            if key in result:
                raise PlaybookError(
                    file, key_node.start_mark.line + 1, ".".join(map(str, path + (key,))), "duplicate key"
                )
            lines[path + (key,)] = key_node.start_mark.line + 1
            result[key] = _build(value_node, path + (key,), lines, file)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, path + (i,), lines, file) for i, item in enumerate(node.value)]
    try:  # resolve the scalar the way safe_load would (int, float, bool, null, str)
        return _SCALARS.construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc)
        raise PlaybookError(
            file, node.start_mark.line + 1, ".".join(map(str, path)), f"invalid value: {problem}"
        ) from None


def parse_yaml(text: str, file: str) -> tuple[Any, dict[Path_, int]]:
    """The file's data and a map from field path to line. Raises `PlaybookError`."""
    if len(text) > MAX_FILE_BYTES:
        raise PlaybookError(
            file, 1, "", f"the file is {len(text):,} characters long; the limit is {MAX_FILE_BYTES:,}"
        )
    try:
        node = yaml.compose(text, Loader=_BoundedLoader)
    except _Refused as refused:
        raise PlaybookError(file, refused.line, "", refused.problem) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not accept; it knows only the offset
        line = text[: exc.position].count("\n") + 1
        raise PlaybookError(
            file, line, "", f"invalid YAML: unacceptable character #x{exc.character:04x}"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise PlaybookError(file, mark.line + 1 if mark else None, "", f"invalid YAML: {problem}") from None
    if node is None:
        raise PlaybookError(file, 1, "", "the file is empty")
    lines: dict[Path_, int] = {}
    return _build(node, (), lines, file), lines


def read_text(path: Path) -> str:
    """The file's text, refusing (with the line) a file too large or not UTF-8."""
    file = str(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise PlaybookError(file, None, "", f"cannot be read: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise PlaybookError(
            file, 1, "", f"the file is larger than {MAX_FILE_BYTES:,} bytes; a playbook is a few kB"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise PlaybookError(
            file,
            line,
            "",
            f"not UTF-8 text: byte 0x{data[exc.start]:02x} at column {column}; save the file as UTF-8",
        ) from None
