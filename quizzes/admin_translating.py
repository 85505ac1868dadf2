"""Translating a quiz in its builder: with ``?translate=de`` the quiz page (and a category's
bands page) shows, under each translatable text, its German version, the original as
placeholder. Saving checks each as its original is checked (the same most characters,
nothing cut: too long is an error saying so), normalises its whitespace and writes the
item's ``translations`` JSON (quizzes.i18n).

Generic: any admin or inline of a ``Translatable`` model that uses
``TranslatingAdminMixin`` gets an input per field of its ``TRANSLATED_FIELDS``.
"""

from __future__ import annotations

import copy

from django import forms
from django.conf import settings
from django.contrib.admin.widgets import AdminTextareaWidget, AdminTextInputWidget
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest
from django.utils.text import capfirst

from core.text import clean_text
from quizzes.i18n import Translatable
from quizzes.translating import language_label

PREFIX = "tr__"
PARAM = "translate"


def field_name(field: str) -> str:
    return PREFIX + field


def requested_language(request: HttpRequest, default_language: str) -> str:
    """The language asked for by ``?translate=``: a known one other than the quiz's own,
    else "" (the page shows the originals only)."""
    code = request.GET.get(PARAM, "")
    known = {c for c, _ in settings.LANGUAGES}
    return code if code in known and code != default_language else ""


def translating(request: HttpRequest) -> str:
    return getattr(request, "_quizfunnel_translating", "")


def normalise(value: str, *, single_line: bool) -> str:
    """NUL bytes and unpaired surrogates out; runs of spaces made one; a one-line text on
    one line; paragraphs kept in a long text (at most one blank line between them)."""
    value = clean_text(value or "")
    if single_line:
        return " ".join(value.split())
    lines = [" ".join(line.split()) for line in value.splitlines()]
    kept: list[str] = []
    for line in lines:
        if line or (kept and kept[-1]):
            kept.append(line)
    return "\n".join(kept).strip()


class TranslationField(forms.CharField):
    """One text's translation: optional, measured after normalising, never cut.

    No ``maxlength`` on the input: a browser would cut a pasted text without a word."""

    def __init__(self, *, model_field: models.Field, language: str):
        self.model_field = model_field
        self.language = language
        self.single_line = not isinstance(model_field, models.TextField)
        widget = (
            AdminTextInputWidget(attrs={"lang": language})
            if self.single_line
            else AdminTextareaWidget(attrs={"rows": 3, "lang": language})
        )
        super().__init__(
            required=False,
            strip=False,
            widget=widget,
            label=f"{capfirst(model_field.verbose_name)} in {language_label(language)}",
        )

    def clean(self, value):
        value = normalise(value if isinstance(value, str) else "", single_line=self.single_line)
        limit = self.model_field.max_length
        if limit and len(value) > limit:
            raise ValidationError(
                f"This {language_label(self.language)} text has {len(value):,} characters; "
                f"it may have {limit:,} at most, like the original. Nothing was cut: "
                "please shorten it.",
                code="too_long",
            )
        if value and isinstance(self.model_field, models.URLField):
            value = forms.URLField(assume_scheme="https").clean(value)
        if value:
            self.model_field.run_validators(value)
        return value


class TranslationFormMixin:
    """A builder row (or the quiz) with a translation input per translated field."""

    translate_to = ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.translate_to:
            return
        stored = _stored(self.instance).get(self.translate_to, {})
        for name in type(self.instance).TRANSLATED_FIELDS:
            field = self.fields.get(field_name(name))
            if field is None:
                continue
            value = stored.get(name)
            self.initial[field_name(name)] = value if isinstance(value, str) else ""
            original = getattr(self.instance, name, "") or ""
            if original:
                field.widget.attrs["placeholder"] = original
                field.widget.attrs["title"] = f"The original: {original}"[:500]

    def clean(self):
        cleaned = super().clean()
        if self.translate_to:
            for name in type(self.instance).TRANSLATED_FIELDS:
                value = cleaned.get(field_name(name))
                if value:
                    try:
                        self.instance.clean_translation(name, value)
                    except ValidationError as error:
                        self.add_error(field_name(name), error)
        return cleaned

    def _post_clean(self):
        super()._post_clean()
        if not self.translate_to or self.errors:
            return
        translations = copy.deepcopy(_stored(self.instance))
        own = translations.setdefault(self.translate_to, {})
        for name in type(self.instance).TRANSLATED_FIELDS:
            key = field_name(name)
            if key not in self.cleaned_data:
                continue
            value = self.cleaned_data[key]
            if value:
                own[name] = value
            else:
                own.pop(name, None)
        if not own:
            translations.pop(self.translate_to)
        self.instance.translations = translations


def _stored(instance: Translatable) -> dict:
    """The item's translations as a dict of dicts, whatever the JSON holds."""
    stored = instance.translations if isinstance(instance.translations, dict) else {}
    return {code: texts for code, texts in stored.items() if isinstance(texts, dict)}


def translating_form(form_class: type[forms.BaseForm], model, language: str):
    """`form_class` with a translation input into `language` per translated field."""
    fields = {
        field_name(name): TranslationField(
            model_field=model._meta.get_field(name), language=language
        )
        for name in model.TRANSLATED_FIELDS
    }
    return type(
        f"{form_class.__name__}Translating",
        (TranslationFormMixin, form_class),
        {"translate_to": language, **fields},
    )


def with_translation_rows(fieldsets, model) -> list:
    """The fieldsets with, after each row holding translated fields, a row of their
    translations (in a table: a column beside each)."""
    translated = set(model.TRANSLATED_FIELDS)
    result = []
    for title, options in fieldsets:
        rows = []
        for row in options.get("fields", ()):
            rows.append(row)
            names = row if isinstance(row, (list, tuple)) else (row,)
            extra = tuple(field_name(n) for n in names if n in translated)
            if extra:
                rows.append(extra if len(extra) > 1 else extra[0])
        result.append((title, {**options, "fields": rows}))
    return result


class TranslatingAdminMixin:
    """For a ModelAdmin or an inline of a translatable model: in translation mode (the page
    sets ``request._quizfunnel_translating``) each translated field gets its input."""

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if not translating(request) or not issubclass(self.model, Translatable):
            return fieldsets
        return with_translation_rows(fieldsets, self.model)

    def _translating_form(self, request, kwargs) -> dict:
        language = translating(request)
        if language and issubclass(self.model, Translatable):
            kwargs["form"] = translating_form(kwargs.get("form", self.form), self.model, language)
        return kwargs

    def get_form(self, request, obj=None, change=False, **kwargs):
        return super().get_form(request, obj, change, **self._translating_form(request, kwargs))

    def get_formset(self, request, obj=None, **kwargs):
        return super().get_formset(request, obj, **self._translating_form(request, kwargs))
