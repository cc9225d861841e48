"""Money as people read it: the display currency and its rate.

Every figure is computed in USD (the price tables' currency); ``Money`` only converts and formats
for display, at a rate the user gives. It lives here, not in a renderer, because the CLI, the
charts, the reports and the notebooks all format money the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from costcompare.errors import WorkloadError

# No currency trades at more than a billion units per USD; beyond that a rate is a typo, and
# (with totals up to ~1e21 USD) 1e308 would print "inf".
MAX_FX_RATE = 1e9
# ISO 4217 currencies with no minor unit: amounts are whole units.
ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "UGX", "PYG", "XAF", "XOF"})


@dataclass(frozen=True)
class Money:
    """Display currency: USD as priced, or converted at a rate the user gives."""

    currency: str = "USD"
    fx_rate: float = 1.0

    def __call__(self, usd: float, *, digits: int | None = None) -> str:
        """``usd`` in the display currency. Currencies without a minor unit (yen, won) show
        whole units whatever ``digits`` asks, and "<¥1" for a non-zero amount under one."""
        value = usd * self.fx_rate
        symbol = {"USD": "$", "JPY": "¥"}.get(self.currency, "")
        if self.currency in ZERO_DECIMAL_CURRENCIES:
            if 0 < abs(value) < 0.5:
                return f"<{symbol}1" if symbol else f"<1 {self.currency}"
            digits = 0
        elif digits is None:
            digits = 2
        text = f"{value:,.{digits}f}"
        return f"{symbol}{text}" if symbol else f"{text} {self.currency}"

    @classmethod
    def parse(cls, currency: str, fx_rate: float | None) -> Money:
        """``--currency`` and ``--fx-rate`` checked: a 3-letter code, a finite positive rate."""
        code = currency.strip().upper()
        if len(code) != 3 or not code.isalpha():
            raise WorkloadError(
                f"--currency {currency[:20]!r} is not a currency code", "use e.g. USD or JPY"
            )
        if code == "USD":
            return cls()
        if fx_rate is None or not math.isfinite(fx_rate) or not 0 < fx_rate <= MAX_FX_RATE:
            given = "" if fx_rate is None else f" (got {fx_rate:g})"
            raise WorkloadError(
                f"--currency {code} needs a positive --fx-rate up to {MAX_FX_RATE:,.0f}{given}",
                f"pass --fx-rate with {code} per USD, e.g. --fx-rate 150",
            )
        return cls(code, fx_rate)
