"""The README's settings table names every setting (issue 7: one table of every setting)."""

from __future__ import annotations

import re
from pathlib import Path

from carbonhub.settings import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def documented_settings() -> set[str]:
    """The ``CARBONHUB_*`` names in the first cell of the README's settings table rows."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for row in re.findall(r"^\| (.+?) \|", section, re.MULTILINE):
        names |= set(re.findall(r"`(CARBONHUB_[A-Z0-9_]+)`", row))
    return names


def test_every_setting_has_a_row_in_the_readme_settings_table() -> None:
    # given the settings object and the README
    expected = {f"CARBONHUB_{name.upper()}" for name in Settings.model_fields}
    # then each setting is documented
    assert expected - documented_settings() == set()
