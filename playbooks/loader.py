"""YAML -> validated playbooks, with errors that name the file, the line and the field.

`playbooks.yaml_source` reads a file within bounds into plain data and a map from field path to
line; here pydantic validates it and its error locations are translated back to lines. Every
problem in a file is reported, not only the first, so one `playbooks check` shows all there is to
fix. A malformed playbook stops the run before it starts: better no pass than a pass with a broken
rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from playbooks.catalog import Catalog
from playbooks.model import Playbook
from playbooks.yaml_source import Path_, PlaybookError, Problem, parse_yaml, read_text

__all__ = [  # PlaybookError and parse_yaml moved to yaml_source; callers import them from here
    "PlaybookCheck",
    "PlaybookError",
    "Problem",
    "builtin_playbook_dir",
    "check_playbooks",
    "load_catalog",
    "load_playbook_file",
    "load_playbook_text",
    "load_playbooks",
    "parse_yaml",
    "validate",
]

M = TypeVar("M", bound=BaseModel)


def _line_for(loc: Path_, lines: dict[Path_, int]) -> int | None:
    path = tuple(loc)
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get(())


def _problems(exc: ValidationError, file: str, lines: dict[Path_, int]) -> list[Problem]:
    problems: list[Problem] = []
    for error in exc.errors():
        # Union members and validator names creep into pydantic's loc; keep the data path only.
        loc = tuple(
            p
            for p in error["loc"]
            if isinstance(p, int) or not str(p).startswith(("function-", "float", "str", "list["))
        )
        where = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in loc).replace(".[", "[")
        problem = Problem(file, _line_for(loc, lines), where, error["msg"].removeprefix("Value error, "))
        if problem not in problems:  # a union reports one problem once per member it tried
            problems.append(problem)
    return problems


def validate(model: type[M], text: str, file: str) -> M:
    """Parse and validate one file. Raises `PlaybookError` listing every problem found."""
    data, lines = parse_yaml(text, file)
    if not isinstance(data, dict):
        raise PlaybookError(file, 1, "", f"expected a mapping of fields, found {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise PlaybookError.of(_problems(exc, file, lines)) from None


def load_playbook_text(text: str, file: str = "<playbook>") -> Playbook:
    return validate(Playbook, text, file)


def load_playbook_file(path: Path) -> Playbook:
    return load_playbook_text(read_text(Path(path)), str(path))


def builtin_playbook_dir() -> Path:
    return Path(str(resources.files("playbooks") / "definitions"))


@dataclass
class PlaybookCheck:
    """What loading a set of playbook folders found: the playbooks (later folders replacing earlier
    ones by id) with their files, and every problem in every file."""

    playbooks: dict[str, tuple[Playbook, str]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def raise_problems(self) -> None:
        if self.problems:
            raise PlaybookError.of(self.problems)


def check_playbooks(
    paths: Iterable[Path],
    include_builtin: bool = False,
    empty_is_error: bool = True,
    accept_files: bool = True,
) -> PlaybookCheck:
    """Load every playbook file under `paths` (folders, or single files) and collect every problem
    instead of stopping at the first: a missing folder, a folder without playbooks (when
    `empty_is_error`), each file's problems, two files of one folder with the same id."""
    check = PlaybookCheck()
    folders = ([builtin_playbook_dir()] if include_builtin else []) + [Path(p) for p in paths]
    for folder in folders:
        if accept_files and folder.is_file():
            files = [folder]
        elif folder.is_dir():
            files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
            if not files and empty_is_error:
                check.problems.append(
                    Problem(str(folder), None, "", "no playbook files (*.yaml, *.yml) in this folder")
                )
        else:
            check.problems.append(Problem(str(folder), None, "", "playbook folder not found"))
            continue
        seen_here: dict[str, str] = {}
        for path in files:
            try:
                playbook = load_playbook_file(path)
            except PlaybookError as exc:
                check.problems.extend(exc.problems)
                continue
            if playbook.id in seen_here:
                check.problems.append(
                    Problem(
                        str(path),
                        1,
                        "id",
                        f"duplicate playbook id {playbook.id!r} (also in {seen_here[playbook.id]})",
                    )
                )
                continue
            seen_here[playbook.id] = str(path)
            check.playbooks[playbook.id] = (playbook, str(path))
    return check


def load_playbooks(dirs: Iterable[Path], include_builtin: bool = True) -> list[Playbook]:
    """Built-in playbooks, then every `*.yaml`/`*.yml` in the user's folders (a user playbook with a
    built-in's id replaces it; two user files with one id are an error). Raises `PlaybookError`
    listing every problem in every file."""
    check = check_playbooks(dirs, include_builtin=include_builtin, empty_is_error=False, accept_files=False)
    check.raise_problems()
    return [p for p, _ in check.playbooks.values()]


def load_catalog(path: Path | None = None) -> Catalog:
    if path is None:
        text = (resources.files("playbooks") / "catalog.yaml").read_text(encoding="utf-8")
        return validate(Catalog, text, "playbooks/catalog.yaml")
    return validate(Catalog, read_text(Path(path)), str(path))
