"""Numbers as the report says them: money in the report's currency, probabilities that never
claim certainty, and counts with their noun in the right number."""

from __future__ import annotations

import pandas as pd
from babel.numbers import format_currency, format_decimal

from tier_ml.language import Language

# currencies written with a symbol before the amount; any other code follows it ("1,234 CHF")
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CNY": "CN¥"}
# the Babel locale of each report language but English, whose formats predate Babel here
LOCALES = {"zh": "zh_CN"}
WHOLE = "#,##0"  # whole units with grouping: the precision a report shows money in


def _missing(value: float | None) -> bool:
    return value is None or pd.isna(value)


def money(value: float | None, currency: str = "", language: Language = "en") -> str:
    """1234.5 -> "$1,235" (USD), "1,235 CHF", or "1,235" where no currency is set; in
    another language as its locale writes money ("US$1,235" in Chinese)."""
    if _missing(value):
        return "–"
    if language in LOCALES:
        locale = LOCALES[language]
        if not currency:
            return format_decimal(round(value), WHOLE, locale=locale)
        pattern = "¤" + WHOLE
        return format_currency(value, currency.upper(), pattern, locale, currency_digits=False)
    amount = f"{abs(value):,.0f}"
    sign = "-" if round(value) < 0 else ""
    symbol = SYMBOLS.get(currency.upper())
    if symbol:
        return f"{sign}{symbol}{amount}"
    return f"{sign}{amount} {currency}".rstrip()


def percent(value: float | None) -> str:
    """A rate that was observed (a realised win rate, a revenue share): 1.0 is 100%."""
    return "–" if _missing(value) else f"{value:.0%}"


def probability(value: float | None) -> str:
    """A predicted probability: never "100%" or "0%", which would read as certainty."""
    if _missing(value):
        return "–"
    if value >= 0.995:
        return "> 99%"
    if value < 0.005:
        return "< 1%"
    return f"{value:.0%}"


def thousands(value: float, language: Language = "en") -> str:
    """A count with its locale's grouping: "32,384,551"."""
    if language in LOCALES:
        return format_decimal(round(value), WHOLE, locale=LOCALES[language])
    return f"{value:,.0f}"


def count_change(value: float) -> str:
    """A change in a count since the last run: "+12", "-1,234", or "0"."""
    return "0" if round(value) == 0 else f"{value:+,.0f}"


def money_change(value: float | None, currency: str = "", language: Language = "en") -> str:
    """A change in money since the last run: "+$1,500", "-$20", or "$0"."""
    said = money(value, currency, language)
    return f"+{said}" if not _missing(value) and round(value) > 0 else said


def compact(value: float) -> str:
    """12,500,000 -> 12.5M: axis labels that do not run into each other."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def noun(value: float, one: str, many: str) -> str:
    """The noun that follows a count: "1 customer", "5,000 customers"."""
    return one if round(value) == 1 else many
