"""A lead's result as its visitor is shown it: in the language of the page.

The lead keeps its score, tier and categories as given, in the quiz's default language:
they are sales' and the automations' data (filters by tier, CRM fields, GA4 values by
tier name, reconciliation). The visitor's pages, e-mail and PDF show them translated
(quizzes.i18n): each text in the visitor's language where the quiz has a translation of
*that* text, that is where the original is still what the lead was given; else as given.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils import translation

from leads.models import Lead
from quizzes.i18n import base_language
from quizzes.models import Question


@dataclass
class ShownResult:
    lead: Lead
    language: str
    tier_name: str
    headline: str = ""
    body: str = ""
    cta_label: str = ""
    cta_href: str = ""
    image_alt: str = ""
    category_scores: list[dict] = field(default_factory=list)
    answers: list[dict] = field(default_factory=list)

    # The same choices as the lead's (weakest, strongest, next steps), on these rows.
    weakest_category = property(Lead.weakest_category.fget)
    strongest_category = property(Lead.strongest_category.fget)
    next_steps = property(Lead.next_steps.fget)


def _translated(item, field_name: str, given: str, language: str) -> str:
    """`item`'s translation of `given`, when the item's original is still `given`."""
    if item is None or getattr(item, field_name, None) != given:
        return given
    return item.tr(field_name, language)


def shown_result(lead: Lead, language: str | None = None) -> ShownResult:
    """The lead's result in `language` (default: the active one)."""
    quiz = lead.quiz
    code = base_language(language or translation.get_language())
    tier = lead.tier
    translate = code != quiz.language
    shown = ShownResult(
        lead=lead,
        language=code,
        tier_name=_translated(tier, "name", lead.tier_name, code) if translate else lead.tier_name,
        category_scores=[dict(row) for row in lead.category_scores or []],
        answers=[dict(row) for row in lead.answers or []],
    )
    if tier is not None:
        shown.headline = tier.tr("headline", code)
        shown.body = tier.tr("body", code)
        shown.image_alt = tier.tr("image_alt", code)
        if tier.cta_url:
            shown.cta_label = tier.tr("cta_label", code)
            shown.cta_href = lead.personal_link(tier.tr("cta_url", code))
    if not translate:
        return shown
    if shown.category_scores:
        categories = {c.name: c for c in quiz.categories.prefetch_related("bands")}
        for row in shown.category_scores:
            category = categories.get(row.get("name"))
            bands = {b.name: b for b in category.bands.all()} if category else {}
            band = bands.get(row.get("band"))
            row["name"] = _translated(category, "name", row.get("name", ""), code)
            if band is not None:
                row["band"] = _translated(band, "name", row.get("band", ""), code)
                for key in ("headline", "advice"):
                    row[key] = _translated(band, key, row.get(key, ""), code)
    if shown.answers:
        ids = [row.get("question_id") for row in shown.answers]
        questions = Question.objects.filter(quiz=quiz, pk__in=[i for i in ids if i]).only(
            "pk", "text", "translations"
        )
        by_id = {q.pk: q for q in questions}
        for row in shown.answers:
            question = by_id.get(row.get("question_id"))
            row["question"] = _translated(question, "text", row.get("question", ""), code)
    return shown
