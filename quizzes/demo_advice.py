"""The demo's advice per category: Weak, Fair and Strong bands, each with what to do next."""

from __future__ import annotations

from quizzes.models import CategoryBand, Quiz

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
