"""Numbers as the visitor's locale writes them (CLDR), without a dependency.

Django's ``localize`` gives the decimal and thousands separators of the active language
(``formats``); the percent sign's spacing is CLDR's percent pattern, which Django does
not carry: ``87%`` in English, ``87 %`` in German and Spanish (a no-break space, U+00A0)
and ``87 %`` in French (a narrow no-break space, U+202F).
"""

from __future__ import annotations

from decimal import Decimal

from django.utils import formats, translation

NBSP = "\u00a0"
NNBSP = "\u202f"

# CLDR's percentFormats (standard) of the shipped languages: what comes between the number
# and the sign.
PERCENT_SPACE = {"en": "", "de": NBSP, "fr": NNBSP, "es": NBSP}


def format_number(value: int | float | Decimal, decimals: int | None = None) -> str:
    """`value` with the active language's decimal and thousands separators."""
    if decimals is not None:
        value = round(Decimal(str(value)), decimals)
    return formats.number_format(value, decimal_pos=decimals, use_l10n=True, force_grouping=True)


def format_percent(value: int | float | Decimal | None, decimals: int | None = None) -> str:
    """``87 %`` / ``87%`` / ``12,5 %``: the number and the sign as the active language
    writes them; "" for None."""
    if value is None or value == "":
        return ""
    language = (translation.get_language() or "en").split("-")[0]
    return f"{format_number(value, decimals)}{PERCENT_SPACE.get(language, '')}%"
