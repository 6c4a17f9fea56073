"""YAML -> validated playbooks, with errors that name the file, the line and the field.

PyYAML's node tree keeps each value's position; we build the plain data and a map from field path to
line at the same time, then let pydantic validate and translate its error locations back to lines.
A malformed playbook stops the run before it starts: better no pass than a pass with a broken rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from playbooks.catalog import Catalog
from playbooks.model import Playbook

M = TypeVar("M", bound=BaseModel)
Path_ = tuple[str | int, ...]


class PlaybookError(ValueError):
    """A playbook or catalog file is malformed. `str()` reads `file:line: field: problem`."""

    def __init__(self, file: str, line: int | None, field: str, problem: str) -> None:
        self.file, self.line, self.field, self.problem = file, line, field, problem
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {field or '(top level)'}: {problem}")


def _build(node: yaml.Node, path: Path_, lines: dict[Path_, int], file: str) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            if key in result:
                raise PlaybookError(file, key_node.start_mark.line + 1, ".".join(map(str, path + (key,))), "duplicate key")
            lines[path + (key,)] = key_node.start_mark.line + 1
            result[key] = _build(value_node, path + (key,), lines, file)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, path + (i,), lines, file) for i, item in enumerate(node.value)]
    try:  # resolve the scalar the way safe_load would (int, float, bool, null, str)
        return _SCALARS.construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc)
        raise PlaybookError(file, node.start_mark.line + 1, ".".join(map(str, path)), f"invalid value: {problem}") from None


_SCALARS = yaml.SafeLoader("")


def parse_yaml(text: str, file: str) -> tuple[Any, dict[Path_, int]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise PlaybookError(file, mark.line + 1 if mark else None, "", f"invalid YAML: {problem}") from None
    if node is None:
        raise PlaybookError(file, 1, "", "the file is empty")
    lines: dict[Path_, int] = {}
    return _build(node, (), lines, file), lines


def _line_for(loc: Path_, lines: dict[Path_, int]) -> int | None:
    path = tuple(loc)
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get(())


def validate(model: type[M], text: str, file: str) -> M:
    data, lines = parse_yaml(text, file)
    if not isinstance(data, dict):
        raise PlaybookError(file, 1, "", f"expected a mapping of fields, found {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        # Union members and validator names creep into pydantic's loc; keep the data path only.
        loc = tuple(p for p in first["loc"] if isinstance(p, int) or not str(p).startswith(("function-", "float", "str", "list[")))
        field = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in loc).replace(".[", "[")
        message = first["msg"].removeprefix("Value error, ")
        extra = f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""
        raise PlaybookError(file, _line_for(loc, lines), field, message + extra) from None


def load_playbook_text(text: str, file: str = "<playbook>") -> Playbook:
    return validate(Playbook, text, file)


def load_playbook_file(path: Path) -> Playbook:
    return load_playbook_text(path.read_text(encoding="utf-8"), str(path))


def builtin_playbook_dir() -> Path:
    return Path(str(resources.files("playbooks") / "definitions"))


def load_playbooks(dirs: Iterable[Path], include_builtin: bool = True) -> list[Playbook]:
    """Built-in playbooks, then every `*.yaml`/`*.yml` in the user's folders (a user playbook with a
    built-in's id replaces it; two user files with one id are an error)."""
    found: dict[str, tuple[Playbook, str]] = {}
    folders = ([builtin_playbook_dir()] if include_builtin else []) + [Path(d) for d in dirs]
    for index, folder in enumerate(folders):
        if not folder.is_dir():
            raise PlaybookError(str(folder), None, "", "playbook folder not found")
        seen_here: dict[str, str] = {}
        for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
            playbook = load_playbook_file(path)
            if playbook.id in seen_here:
                raise PlaybookError(str(path), 1, "id", f"duplicate playbook id {playbook.id!r} (also in {seen_here[playbook.id]})")
            seen_here[playbook.id] = str(path)
            found[playbook.id] = (playbook, str(path))
    return [p for p, _ in found.values()]


def load_catalog(path: Path | None = None) -> Catalog:
    if path is None:
        text = (resources.files("playbooks") / "catalog.yaml").read_text(encoding="utf-8")
        return validate(Catalog, text, "playbooks/catalog.yaml")
    return validate(Catalog, Path(path).read_text(encoding="utf-8"), str(path))
