"""Numbers as the report says them: money in the report's currency, probabilities that never
claim certainty, and counts with their noun in the right number."""

from __future__ import annotations

import pandas as pd

# currencies written with a symbol before the amount; any other code follows it ("1,234 CHF")
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CNY": "CN¥"}


def _missing(value: float | None) -> bool:
    return value is None or pd.isna(value)


def money(value: float | None, currency: str = "") -> str:
    """1234.5 -> "$1,235" (USD), "1,235 CHF", or "1,235" where no currency is set."""
    if _missing(value):
        return "–"
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


def thousands(value: float) -> str:
    return f"{value:,.0f}"


def noun(value: float, one: str, many: str) -> str:
    """The noun that follows a count: "1 customer", "5,000 customers"."""
    return one if round(value) == 1 else many
