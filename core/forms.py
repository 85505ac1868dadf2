"""Form pieces every public form uses, so that bad input is a message, never a 500.

- `CleanForm`: every submitted value is normalised (NUL bytes and unpaired surrogates
  removed, see core.text) before any field sees it, so the fields' own length checks
  measure what will be stored.
- `EmailField`: lowercased before its length is checked (“İ” grows when lowercased).
- `DateField`: a calendar date the product can compute with (a range end of 9999-12-31
  cannot have a day added to it).
- `parse_id` / `IdField`: an id is ASCII digits (`"²".isdigit()` is True, `int("²")` fails).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping

from django import forms
from django.core.exceptions import ValidationError
from django.utils.datastructures import MultiValueDict

from core.text import clean_lower, clean_text

# Dates outside these cannot be shifted by a day or converted between time zones safely,
# and no event of the product is older or newer.
MIN_DATE = datetime.date(1900, 1, 1)
MAX_DATE = datetime.date(2999, 12, 31)
DATE_RANGE_MESSAGE = "Choose a date between 1900 and 2999."

# Ids are bigints: 18 digits always fit (SQLite refuses larger Python ints with a crash).
MAX_ID_DIGITS = 18


def is_ascii_id(value: object) -> bool:
    """Whether `value` is a positive id written in ASCII digits that fits a bigint."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_ID_DIGITS
        and value.isascii()
        and value.isdigit()
        and int(value) > 0
    )


def parse_id(value: object) -> int | None:
    """`value` as an id, or None when it is not one (never raises)."""
    return int(value) if is_ascii_id(value) else None


def _cleaned(value):
    return clean_text(value) if isinstance(value, str) else value


def clean_data(data):
    """A copy of submitted data with every string normalised (QueryDict, dict or None)."""
    if data is None:
        return None
    if isinstance(data, MultiValueDict):
        copy = data.copy()  # a QueryDict's copy is mutable
        for key, values in data.lists():
            cleaned_key = clean_text(key)
            if cleaned_key != key:
                del copy[key]
            copy.setlist(cleaned_key, [_cleaned(v) for v in values])
        return copy
    if isinstance(data, Mapping):
        return {
            clean_text(k): (
                [_cleaned(v) for v in value] if isinstance(value, list) else _cleaned(value)
            )
            for k, value in data.items()
        }
    return data


class CleanDataMixin:
    """Normalises a form's data before its fields clean and measure it.

    Put it before `forms.Form` or `forms.ModelForm` in the bases.
    """

    def __init__(self, data=None, *args, **kwargs):
        super().__init__(clean_data(data), *args, **kwargs)


class CleanForm(CleanDataMixin, forms.Form):
    """The base of every form that takes text from outside."""


class EmailField(forms.EmailField):
    """An e-mail address, lowercased, whose length is that of the lowercased address."""

    def to_python(self, value):
        value = super().to_python(value)
        return clean_lower(value).strip() if value else value


class DateField(forms.DateField):
    """A date within MIN_DATE..MAX_DATE, with a message a person understands."""

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", forms.DateInput(attrs={"type": "date"}))
        super().__init__(**kwargs)
        self.error_messages["invalid"] = "Enter a real date, such as 2026-02-28."

    def to_python(self, value):
        if isinstance(value, str) and not value.strip().isascii():
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        value = super().to_python(value)
        if value is not None and not (MIN_DATE <= value <= MAX_DATE):
            raise ValidationError(DATE_RANGE_MESSAGE, code="out_of_range")
        return value


class IdField(forms.Field):
    """An object id in ASCII digits; anything else is the message given."""

    def __init__(self, *, message: str = "That is not a valid id.", **kwargs):
        super().__init__(**kwargs)
        self.message = message

    def to_python(self, value):
        value = value.strip() if isinstance(value, str) else value
        if value in self.empty_values:
            return None
        if not is_ascii_id(value):
            raise ValidationError(self.message, code="invalid")
        return int(value)
