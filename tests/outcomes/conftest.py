"""Shared helpers for the outcome-loop tests: a copy of the sample input folder the test may edit
(as a team edits its export), and playbook folders with a holdout declared."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from connectors.files.connector import sample_data_dir
from playbooks.loader import builtin_playbook_dir


@pytest.fixture
def sample_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "input"
    shutil.copytree(sample_data_dir(), folder)
    return folder


def playbooks_with_holdout(folder: Path, shares: dict[str, float]) -> Path:
    """The built-in playbooks, copied, with `holdout: <share>` added to the named ones."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted(builtin_playbook_dir().glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        share = shares.get(path.stem)
        if share is not None:
            text += f"\nholdout: {share}\n"
        (folder / path.name).write_text(text, encoding="utf-8")
    return folder
