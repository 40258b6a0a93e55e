"""The docs stay honest: every setting and every CLI command is documented."""

from __future__ import annotations

from pathlib import Path

import click

from distillshield.cli import main
from distillshield.records import SETTINGS

ROOT = Path(__file__).resolve().parents[1]


def _commands(group: click.Group, prefix: str = "distillshield") -> list[str]:
    names = []
    for name, command in group.commands.items():
        names.append(f"{prefix} {name}")
        if isinstance(command, click.Group):
            names.extend(_commands(command, f"{prefix} {name}"))
    return names


def test_every_setting_is_in_the_settings_doc_with_its_default():
    doc = (ROOT / "docs" / "settings.md").read_text()
    for setting in SETTINGS:
        assert f"| `{setting.name}` | `{setting.default!r}` |" in doc, setting.name


def test_every_cli_command_is_in_the_readme_or_docs():
    text = (ROOT / "README.md").read_text() + "".join(p.read_text() for p in (ROOT / "docs").glob("*.md"))
    text = text.replace(".venv/bin/distillshield", "distillshield")
    for command in _commands(main):
        assert command in text, command
