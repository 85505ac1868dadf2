"""Translating a quiz: the builder edits each text beside its original and counts what is
translated; publishing refuses a language on offer with texts missing; a visitor in German
sees the quiz's own texts in German (page, result, e-mail), the consent record keeps the
German text it showed, and the demo ships complete in German."""

from __future__ import annotations

import io

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from leads.models import Lead
from leads.report import scorecard_for, scorecard_subject
from quizzes.admin_translating import TranslatingAdminMixin
from quizzes.demo import demo_quiz_create
from quizzes.demo_german import demo_german_apply
from quizzes.i18n import Translatable
from quizzes.models import Question, Quiz
from quizzes.services import quiz_problems, quiz_publish
from quizzes.translating import progress, quiz_items
from tests.quizzes.builderform import form_data
from tests.visitor import details_url, result_url, start, step_url

pytestmark = pytest.mark.django_db


def _change(quiz, language: str | None = None) -> str:
    url = reverse("admin:quizzes_quiz_change", args=[quiz.pk])
    return url + (f"?translate={language}" if language else "")


def _page(admin_client, quiz, language="de") -> tuple[str, dict]:
    response = admin_client.get(_change(quiz, language))
    assert response.status_code == 200
    html = response.content.decode()
    return html, form_data(html)


def _offer_german(quiz: Quiz) -> Quiz:
    quiz.languages = ["de"]
    quiz.save(update_fields=["languages"])
    return quiz


def test_the_builder_saves_a_translation_beside_each_original(admin_client, scorecard):
    _offer_german(scorecard)
    html, data = _page(admin_client, scorecard)
    first = scorecard.ordered_questions()[0]
    # The German box sits under the original, the original as its placeholder.
    assert 'name="questions-0-tr__text"' in html
    assert f'placeholder="{first.text}"' in html
    assert "Translating into German" in html
    data |= {
        "tr__title": "  Wachstums-\n  Scorecard  ",
        "questions-0-tr__text": "Schalten Sie Werbung?",
        "questions-0-choices-0-tr__label": "Ja",
        "tiers-0-tr__name": "Kalt",
        "_continue": "1",
    }
    response = admin_client.post(_change(scorecard, "de"), data)
    assert response.status_code == 302, response.content.decode()[-2000:]
    assert response["Location"].endswith("?translate=de")  # back in the same language
    scorecard.refresh_from_db()
    first.refresh_from_db()
    assert scorecard.translations["de"]["title"] == "Wachstums- Scorecard"  # one line
    assert scorecard.title != "Wachstums- Scorecard"  # the original is untouched
    assert first.translations == {"de": {"text": "Schalten Sie Werbung?"}}
    assert first.choices.order_by("order")[0].translations["de"]["label"] == "Ja"
    # Emptying a box removes that translation.
    _html, data = _page(admin_client, scorecard)
    data |= {"questions-0-tr__text": "   ", "_continue": "1"}
    assert admin_client.post(_change(scorecard, "de"), data).status_code == 302
    first.refresh_from_db()
    assert first.translations == {}


def test_a_too_long_or_garbled_translation_is_refused_in_words_and_nothing_is_cut(
    admin_client, scorecard
):
    _offer_german(scorecard)
    _html, data = _page(admin_client, scorecard)
    data |= {"questions-0-tr__text": "W" * 301, "tr__title": "Neu", "_continue": "1"}
    response = admin_client.post(_change(scorecard, "de"), data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "This German text has 301 characters; it may have 300 at most" in page
    scorecard.refresh_from_db()
    assert scorecard.translations == {}  # nothing half-written
    # NUL bytes, lone surrogates and invalid UTF-8: cleaned or refused, never a 500.
    _html, data = _page(admin_client, scorecard)
    data |= {"tr__title": "Ti\x00tel", "tr__scorecard_subject": "{nope}", "_save": "1"}
    response = admin_client.post(_change(scorecard, "de"), data)
    assert response.status_code == 200
    assert "placeholder there is not" in response.content.decode()
    raw = b"tr__title=%FF%FE%00&_save=1"
    response = admin_client.generic(
        "POST", _change(scorecard, "de"), raw, "application/x-www-form-urlencoded"
    )
    assert response.status_code in (200, 302, 400)


def test_the_builder_counts_what_is_translated_per_language(admin_client, scorecard):
    _offer_german(scorecard)
    total = progress(scorecard, "de").total
    # Title, description, start label, lead form title, consent, subject; 2 categories; 3
    # tiers' names and headlines; 5 questions; 8 choices; the rating question's 2 end labels.
    assert total == 6 + 2 + 6 + 5 + 8 + 2
    question = scorecard.ordered_questions()[0]
    question.translations = {"de": {"text": "Werben Sie?", "rating_min_label": "x"}}
    question.save()
    state = progress(scorecard, "de")
    assert (state.done, str(state)) == (1, f"German: 1 of {total} texts")
    html, _data = _page(admin_client, scorecard, language=None)
    assert f"German: 1 of {total} texts" in html
    assert "Translate into German" in html


def test_publishing_refuses_a_language_on_offer_with_texts_untranslated(scorecard):
    quiz = _offer_german(scorecard)
    quiz.status = Quiz.Status.DRAFT
    quiz.save()
    problems = quiz_publish(quiz=quiz)
    assert any(p.startswith("German: ") and "stop offering German" in p for p in problems)
    for item in quiz_items(quiz):
        item.translations = {"de": {f: f"DE {f}" for f in item.texts_to_translate()}}
        item.save()
    assert quiz_problems(quiz=quiz) == []


def test_every_builder_form_of_a_translatable_model_edits_its_translations():
    """A new translatable model (a result block) needs its inline translated too."""
    seen = []

    def walk(inline_classes):
        for inline in inline_classes:
            if issubclass(inline.model, Translatable):
                seen.append(inline)
                assert issubclass(inline, TranslatingAdminMixin), inline
            walk(getattr(inline, "inlines", []))

    for model, model_admin in admin.site._registry.items():
        if issubclass(model, Translatable):
            assert isinstance(model_admin, TranslatingAdminMixin), model_admin
        walk(model_admin.inlines)
    assert len(seen) >= 5


def _german_run(client) -> tuple[Quiz, object]:
    quiz, _ = demo_quiz_create()
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "de-DE,de;q=0.9,en;q=0.5"  # a German browser
    attempt = start(client, quiz)
    for question in quiz.ordered_questions():
        if question.kind == Question.Kind.RATING:
            data = {"answer": str(question.rating_max)}
        elif question.kind == Question.Kind.TEXT:
            data = {"answer": "Den Umsatz pro Kanal"}
        else:
            first = question.choices.get(label="Yes") if question.kind == "yes_no" else None
            first = first or question.choices.order_by("-points")[0]
            data = {"answer": str(first.pk)}
        response = client.post(step_url(attempt, question), data)
        assert response.status_code == 302, response.content.decode()[:1000]
    return quiz, attempt


def test_a_german_visitor_sees_the_quizs_texts_in_german_and_consents_in_german(client):
    quiz, attempt = _german_run(client)
    intro = client.get(quiz.get_absolute_url()).content.decode()
    assert "Scorecard: Marketing-Messung" in intro
    assert "Meinen Wert ermitteln" in intro
    question = quiz.ordered_questions()[1]
    page = client.get(step_url(attempt, question)).content.decode()
    assert "Wie kennzeichnen Sie die Links in Ihren bezahlten Kampagnen?" in page
    assert "Immer, nach einer festen Namenskonvention" in page
    form = client.get(details_url(attempt)).content.decode()
    assert "Wohin dürfen wir Ihre Scorecard senden?" in form
    assert "Senden Sie mir gelegentlich Tipps" in form
    response = client.post(details_url(attempt), {"email": "erika@example.de", "consent": "on"})
    assert response.status_code == 302
    result = client.get(result_url(attempt)).content.decode()
    lead = Lead.objects.get(attempt=attempt)
    assert lead.consent_text.startswith("Senden Sie mir gelegentlich Tipps")
    assert lead.consent_language == "de"
    # Sales' data stays in the quiz's language; the visitor's page is German.
    assert lead.tier_name == "Hot"
    assert "Heiß" in result and "Sie messen wie die besten Teams" in result
    assert "Strategiegespräch vereinbaren" in result
    assert "Tracking-Grundlagen" in result and "Reporting und Umsetzung" in result
    assert "Wo werden Ihre Conversions erfasst?" in result  # the answers, asked in German
    assert "Auf unserem Server, ein Event pro Aktion" in result  # the answer as shown
    assert "Stark" in result
    # The e-mail and the PDF follow the language of the run.
    assert lead.attempt.language == "de"
    card = scorecard_for(lead)
    text = render_to_string("leads/scorecard_email.txt", {"card": card})
    assert card.quiz_title == "Scorecard: Marketing-Messung"
    assert "Sie messen wie die besten Teams" in text and "Tracking-Grundlagen" in text
    assert scorecard_subject(lead).startswith("Ihr Ergebnis: ")
    assert "(Heiß)" in scorecard_subject(lead)


def test_an_english_visitor_of_the_same_quiz_sees_the_originals(client):
    quiz, _ = demo_quiz_create()
    with translation.override("en"):
        intro = client.get(quiz.get_absolute_url()).content.decode()
    assert "Marketing Measurement Scorecard" in intro and "Marketing-Messung" not in intro


def test_the_demo_ships_every_text_in_german_and_an_older_demo_gets_them(settings):
    quiz, _ = demo_quiz_create()
    assert quiz.offered_languages() == ["en", "de"]
    for item in quiz_items(quiz):
        for field in type(item).TRANSLATED_FIELDS:
            if getattr(item, field) and field not in item.OPTIONAL_TRANSLATIONS:
                german = (item.translations.get("de") or {}).get(field, "")
                assert german.strip(), (item, field)
    assert progress(quiz, "de").complete and quiz.is_published
    # A demo seeded before German: the next seed fills it in, and once only.
    for item in quiz_items(quiz):
        item.translations = {}
        item.save(update_fields=["translations"])
    Quiz.objects.filter(pk=quiz.pk).update(languages=[])
    call_command("seed_demo", "--no-admin", stdout=io.StringIO())
    quiz.refresh_from_db()
    assert quiz.languages == ["de"] and progress(quiz, "de").complete
    assert demo_german_apply(quiz) == 0
