"""The shared form pieces: normalise first, then measure; ids and dates that cannot crash."""

import pytest
from django import forms
from django.http import QueryDict
from hypothesis import given
from hypothesis import strategies as st

from core import safejson
from core.forms import CleanForm, DateField, EmailField, IdField, parse_id


class Contact(CleanForm):
    name = forms.CharField(max_length=5)
    email = EmailField(max_length=10)
    day = DateField(required=False)
    owner = IdField(required=False, message="Choose an owner from the list.")


def test_nul_bytes_and_lone_surrogates_are_removed_before_the_length_is_checked():
    form = Contact({"name": "a\x00b\ud800cde", "email": "a@b.io"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["name"] == "abcde"


def test_query_dicts_keep_every_value_once_cleaned():
    data = QueryDict(mutable=True)
    data.setlist("name", ["a\x00", "b"])
    form = Contact(data)
    assert form.data.getlist("name") == ["a", "b"]
    assert data.getlist("name") == ["a\x00", "b"]  # the request's own data is left alone


def test_an_email_is_measured_once_lowercased():
    # “İ” is one character, and two once lowercased: these 10 characters become 15.
    form = Contact({"name": "x", "email": "a@İİİİİ.io"})
    assert not form.is_valid()
    assert form.errors["email"] == ["Ensure this value has at most 10 characters (it has 15)."]
    assert Contact({"name": "x", "email": "A@B.IO"}).is_valid()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("2026-02-30", "Enter a real date, such as 2026-02-28."),
        ("9999-12-31", "Choose a date between 1900 and 2999."),
        ("0001-01-01", "Choose a date between 1900 and 2999."),
        ("²⁰²⁶-01-01", "Enter a real date, such as 2026-02-28."),
        ("1e400", "Enter a real date, such as 2026-02-28."),
    ],
)
def test_impossible_and_unusable_dates_are_refused_in_words(raw, message):
    form = Contact({"name": "x", "email": "a@b.io", "day": raw})
    assert not form.is_valid()
    assert form.errors["day"] == [message]


@pytest.mark.parametrize("raw", ["²", "١٢", "-1", "0", "1.0", "1e3", " ", "9" * 19, "x"])
def test_an_id_is_ascii_digits_only(raw):
    assert parse_id(raw) is None
    form = Contact({"name": "x", "email": "a@b.io", "owner": raw})
    assert raw.strip() == "" or form.errors["owner"] == ["Choose an owner from the list."]


def test_an_id_in_ascii_digits_is_an_int():
    assert parse_id("42") == 42
    assert Contact({"name": "x", "email": "a@b.io", "owner": "42"}).is_valid()


@given(st.text(), st.text())
def test_any_text_gives_a_valid_form_or_errors_never_an_exception(name, email):
    form = Contact({"name": name, "email": email})
    if form.is_valid():
        for value in (form.cleaned_data["name"], form.cleaned_data["email"]):
            value.encode("utf-8")
            assert "\x00" not in value


@pytest.mark.parametrize(
    "raw",
    ["[" * 5000 + "]" * 5000, '{"a":' * 40 + "1" + "}" * 40, "1e400", "[NaN]", "-Infinity", "{"],
)
def test_json_that_would_crash_the_parser_or_the_database_is_a_value_error(raw):
    with pytest.raises(ValueError):
        safejson.loads(raw)


def test_ordinary_json_parses_and_brackets_in_strings_do_not_count():
    assert safejson.loads('{"a": ["[[[[", 1.5, null]}') == {"a": ["[[[[", 1.5, None]}
