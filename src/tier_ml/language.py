"""The languages that scores and the report are written in, and strings written in all of
them side by side: one language parameter (`language` in conf/base/globals.yml) sets both."""

from __future__ import annotations

from typing import Literal, NamedTuple

Language = Literal["en", "zh"]


class Text(NamedTuple):
    """One string in every language: the English and the Chinese written side by side."""

    en: str
    zh: str

    def said(self, language: Language) -> str:
        return self.zh if language == "zh" else self.en
