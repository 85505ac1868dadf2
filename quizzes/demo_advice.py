"""The demo's advice per category (Weak, Fair and Strong bands, each with what to do next)
and its result blocks."""

from __future__ import annotations

from quizzes.models import BlockCondition, CategoryBand, Quiz, ResultBlock

BANDS = [("Weak", 0, 39), ("Fair", 40, 69), ("Strong", 70, 100)]

ADVICE = {
    "Tracking foundations": [
        (
            "Record conversions on your server",
            "Browser tags miss a third of conversions to ad blockers and closed tabs. "
            "Record each lead on the server, once, in the same step that saves it.",
        ),
        (
            "Close the gaps in your event list",
            "Write down the five events that matter (started, answered, lead, demo, deal) "
            "and check each is recorded once, with the same name everywhere.",
        ),
        (
            "Keep it honest",
            "Your tracking is solid. Review the tracking plan each quarter and retire "
            "events nobody reads.",
        ),
    ],
    "Attribution": [
        (
            "Tag every paid link",
            "Untagged links land as “direct”. Add utm_source, utm_medium and utm_campaign "
            "to every ad and newsletter link, with one naming scheme.",
        ),
        (
            "Compare first and last touch",
            "Look at where leads first came from beside what closed them: the channels "
            "that open conversations are often not the ones that get the credit.",
        ),
        (
            "Send conversions back to the ad platforms",
            "Feed server-side conversions to Meta and Google so their bidding learns from "
            "real leads, not page views.",
        ),
    ],
    "Reporting and action": [
        (
            "Make one funnel everyone trusts",
            "Agree on one funnel (visitors, starts, leads, demos) with its unit and base "
            "written under each number, and check it weekly.",
        ),
        (
            "Reconcile with your CRM",
            "Count leads in analytics and in the CRM for the same week; every difference "
            "has a reason you can fix.",
        ),
        (
            "Act within the hour",
            "Route hot leads to sales automatically; replies within an hour convert "
            "several times better than next-day calls.",
        ),
    ],
}


def demo_bands_apply(quiz: Quiz) -> None:
    """Give each demo category its bands and advice (once)."""
    for category in quiz.categories.all():
        texts = ADVICE.get(category.name)
        if not texts or category.bands.exists():
            continue
        CategoryBand.objects.bulk_create(
            CategoryBand(
                category=category,
                name=name,
                min_percent=low,
                max_percent=high,
                headline=headline,
                advice=advice,
            )
            for (name, low, high), (headline, advice) in zip(BANDS, texts, strict=True)
        )


def demo_blocks_apply(quiz: Quiz) -> None:
    """The demo's result blocks, chosen by rules (once): an audit for weak attribution, a
    first step for runs that record conversions nowhere or only in the ad platforms, and
    an onboarding call for visitors who came with ?plan=enterprise."""
    if quiz.result_blocks.exists():
        return
    bands = {
        (b.category.name, b.name): b
        for b in CategoryBand.objects.filter(category__quiz=quiz).select_related("category")
    }
    questions = {q.text: q for q in quiz.ordered_questions()}
    recorded = questions["Where are your conversions recorded?"]
    choices = {c.label: c for c in recorded.choices.all()}

    audit = ResultBlock.objects.create(
        quiz=quiz,
        order=1,
        headline="Book a measurement audit",
        body=(
            "Your attribution is where most of your budget decisions go blind.\n\n"
            "In a 30-minute audit we trace three of your campaigns from click to revenue "
            "and show you where the credit gets lost."
        ),
        cta_label="Book a free audit",
        cta_url="https://example.com/audit?tier={tier}&score={percent}",
    )
    attribution = bands[("Attribution", "Weak")]
    BlockCondition.objects.create(
        block=audit, kind="band", category=attribution.category, band=attribution
    )

    server = ResultBlock.objects.create(
        quiz=quiz,
        order=2,
        headline="Start with one server-side conversion",
        body=(
            "Ad blockers and closed tabs hide a third of browser-tracked conversions. "
            "Record your lead form on the server first: one event, once, when the lead "
            "is saved. Our checklist takes an afternoon."
        ),
        cta_label="Get the checklist",
        cta_url="https://example.com/server-side-checklist",
        match=ResultBlock.Match.ANY,
    )
    foundations = bands[("Tracking foundations", "Weak")]
    BlockCondition.objects.bulk_create(
        [
            BlockCondition(
                block=server, kind="band", category=foundations.category, band=foundations
            ),
            BlockCondition(
                block=server, kind="choice", question=recorded, choice=choices["Nowhere yet"]
            ),
            BlockCondition(
                block=server,
                kind="choice",
                question=recorded,
                choice=choices["Only in the ad platforms"],
            ),
        ]
    )

    enterprise = ResultBlock.objects.create(
        quiz=quiz,
        order=3,
        headline="Your enterprise onboarding call",
        body=(
            "You came to us through the Enterprise plan: a measurement engineer will walk "
            "your team through this scorecard and set up the first dashboard with you."
        ),
        cta_label="Choose a time",
        cta_url="https://example.com/enterprise-onboarding",
    )
    BlockCondition.objects.create(
        block=enterprise, kind="hidden", field_name="plan", compare="is", value="enterprise"
    )
