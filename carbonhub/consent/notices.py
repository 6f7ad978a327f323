"""The published consent notices: what a citizen reads before consenting, per purpose and language."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from carbonhub.errors import InvalidInput

LANGUAGES = ("zh-CN", "en")


@dataclass(frozen=True, slots=True)
class Notice:
    """One version of the notice of a purpose, in every language."""

    purpose: str
    version: str
    recipient_kind: str
    max_days: int
    texts: dict[str, str]

    def text(self, language: str) -> str:
        """The text in ``language`` (Simplified Chinese when the language is not offered)."""
        return self.texts.get(language) or self.texts["zh-CN"]

    def sha256(self, language: str) -> str:
        """The digest a consent records of the exact text shown."""
        return hashlib.sha256(self.text(language).encode()).hexdigest()


@cache
def notices() -> dict[str, Notice]:
    """The current notice of every purpose (the packaged data file)."""
    data = tomllib.loads(
        (resources.files("carbonhub.consent") / "data" / "notices.toml").read_text("utf-8")
    )
    found = {}
    for item in data["notice"]:
        found[item["purpose"]] = Notice(
            purpose=item["purpose"],
            version=item["version"],
            recipient_kind=item["recipient_kind"],
            max_days=int(item["max_days"]),
            texts=dict(item["text"]),
        )
    return found


def notice_for(purpose: str) -> Notice:
    """The notice of ``purpose``, or :class:`InvalidInput` naming the known purposes."""
    found = notices().get(purpose)
    if found is None:
        raise InvalidInput(f"unknown purpose {purpose!r}; known: {', '.join(sorted(notices()))}")
    return found
