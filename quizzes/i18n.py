"""The languages a quiz speaks, and its own texts in each of them.

Django's catalogues (``locale/``) translate the product's words: buttons, errors,
the progress label, e-mails, the PDF. A quiz's own words (title, questions,
choices, tiers, bands, result blocks, lead form, consent text) are the
marketer's, so they are stored with the quiz: each translatable model keeps a
``translations`` JSON object ``{"de": {"text": "…"}, …}`` beside its original
fields, and ``obj.tr("text")`` reads the field in the active language, falling
back to the original (the quiz's default language) where a translation is
missing or blank.

A JSON field rather than a column per language (django-modeltranslation) or a
table per model (django-parler): adding a language changes no schema, the
builder edits a translation beside the original on the same page, and reading
a quiz in German costs no extra query.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import translation


def language_names() -> dict[str, str]:
    return dict(settings.LANGUAGES)


def base_language(code: str | None) -> str:
    """``de-AT`` → ``de``; unknown or empty → the site's default."""
    code = (code or "").strip().lower().replace("_", "-").split("-")[0]
    return code if code in language_names() else settings.LANGUAGE_CODE


class Translatable(models.Model):
    """A model whose listed text fields may be translated per language."""

    TRANSLATED_FIELDS: tuple[str, ...] = ()
    # Translated fields that may stay as the original (an address that serves every
    # language): editable, not counted as missing.
    OPTIONAL_TRANSLATIONS: tuple[str, ...] = ()

    translations = models.JSONField(
        default=dict,
        blank=True,
        help_text='Translations of this item\'s texts: {"de": {"field": "text"}}.',
    )

    class Meta:
        abstract = True

    def tr(self, field: str, language: str | None = None) -> str:
        """The field in ``language`` (default: the active one), else the original."""
        original = getattr(self, field)
        code = base_language(language or translation.get_language())
        by_language = self.translations if isinstance(self.translations, dict) else {}
        value = (by_language.get(code) or {}).get(field)
        return value if isinstance(value, str) and value.strip() else original

    def tr_language(self, field: str, language: str | None = None) -> str:
        """The language ``tr`` shows ``field`` in: ``language`` (default: the active one)
        when it has a translation there, else ``original`` (the quiz's default)."""
        code = base_language(language or translation.get_language())
        by_language = self.translations if isinstance(self.translations, dict) else {}
        value = (by_language.get(code) or {}).get(field)
        return code if isinstance(value, str) and value.strip() else ""

    def texts_to_translate(self) -> list[str]:
        """The translated fields a visitor of this item sees: those with an original text.
        Models narrow it (a rating's end labels on rating questions only)."""
        return [
            name
            for name in self.TRANSLATED_FIELDS
            if name not in self.OPTIONAL_TRANSLATIONS and str(getattr(self, name) or "").strip()
        ]

    def clean_translation(self, field: str, value: str) -> None:
        """Checks a translation must pass beyond the field's own (ValidationError)."""
