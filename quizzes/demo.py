"""The demo scorecard: a real-looking quiz with categories, a branch and three tiers."""

from __future__ import annotations

from django.db import transaction

from quizzes.models import Category, Choice, HiddenField, Question, Quiz, Tier
from quizzes.services import quiz_publish

SLUG = "marketing-measurement"

CATEGORIES = ["Tracking foundations", "Attribution", "Reporting and action"]

# (category index, kind, text, help, [(label, points)], {choice label: branch to question no.})
QUESTIONS = [
    (
        0,
        "yes_no",
        "Do you run paid advertising campaigns?",
        "Search, social, display: any paid channel.",
        [("Yes", 10), ("No", 0)],
        {"No": 4},
    ),
    (
        1,
        "single",
        "How do you tag the links in your paid campaigns?",
        "",
        [
            ("We don't tag them", 0),
            ("Sometimes, by hand", 4),
            ("Always, with a naming convention", 8),
            ("Automatically, checked before launch", 10),
        ],
        {},
    ),
    (
        1,
        "rating",
        "How confident are you in the revenue each ad channel brings in?",
        "",
        [],
        {},
    ),
    (
        0,
        "single",
        "Where are your conversions recorded?",
        "",
        [
            ("Nowhere yet", 0),
            ("Only in the ad platforms", 3),
            ("In a browser analytics tag", 6),
            ("On our server, one event per action", 10),
        ],
        {},
    ),
    (
        0,
        "multiple",
        "Which of these do you track today?",
        "",
        [
            ("Form submissions", 3),
            ("Qualified leads", 3),
            ("Sales meetings booked", 2),
            ("Closed revenue", 2),
        ],
        {},
    ),
    (
        2,
        "single",
        "How often does your team look at funnel numbers?",
        "",
        [("Rarely", 0), ("Monthly", 4), ("Weekly", 8), ("Daily, on a shared dashboard", 10)],
        {},
    ),
    (
        2,
        "yes_no",
        "Do the lead numbers in your analytics match the numbers in your CRM?",
        "",
        [("Yes", 10), ("No", 0)],
        {},
    ),
    (
        2,
        "rating",
        "How quickly does sales follow up a hot lead?",
        "",
        [],
        {},
    ),
    (
        None,
        "text",
        "What is the one number you wish you could trust?",
        "Tell us in a sentence.",
        [],
        {},
    ),
]

# The ends of each rating scale (question number -> lowest, highest), shown under it:
# one scale, in the question's own words.
RATING_LABELS = {
    3: ("A guess", "We could defend it to the board"),
    8: ("Days later", "Within minutes"),
}

TIERS = [
    (
        "Cold",
        0,
        49,
        "#64748b",
        "Your measurement has gaps that cost you money",
        "Start with one canonical conversion event per action, recorded on the server. "
        "Everything else builds on that.",
        "Get the starter guide",
        "https://example.com/guide",
    ),
    (
        "Warm",
        50,
        79,
        "#d97706",
        "Good foundations, with blind spots",
        "You track the basics; now connect them: attribution that survives ad blockers and "
        "counts that match your CRM.",
        "Watch the 10-minute walkthrough",
        "https://example.com/walkthrough",
    ),
    (
        "Hot",
        80,
        100,
        "#16a34a",
        "You measure like the best teams",
        "Your funnel is instrumented end to end. Let's talk about getting sales to hot leads "
        "within minutes.",
        "Book a strategy call",
        "https://example.com/book",
    ),
]


def _rating_labels(number: int) -> dict:
    if number not in RATING_LABELS:
        return {}
    low, high = RATING_LABELS[number]
    return {"rating_min_label": low, "rating_max_label": high}


@transaction.atomic
def demo_quiz_create() -> tuple[Quiz, bool]:
    """The demo scorecard, published; a second call changes nothing."""
    existing = Quiz.objects.filter(slug=SLUG).first()
    if existing is not None:
        return existing, False
    quiz = Quiz.objects.create(
        slug=SLUG,
        title="Marketing Measurement Scorecard",
        description=(
            "Nine quick questions on how you track, attribute and act on your marketing. "
            "Get a personal score, your weakest area and what to do next."
        ),
        start_label="Get my score",
        lead_form_title="Where should we send your scorecard?",
        ask_name=Quiz.FieldMode.OPTIONAL,
        ask_company=Quiz.FieldMode.OPTIONAL,
        ask_phone=Quiz.FieldMode.OFF,
        consent_text=(
            "Send me occasional tips on marketing measurement. Unsubscribe at any time. "
            "Privacy policy: https://example.com/privacy"
        ),
        # The README's embedding example works on a laptop: any port of this machine.
        embed_origins="http://localhost:*\nhttp://127.0.0.1:*",
    )
    HiddenField.objects.create(quiz=quiz, name="plan", pattern="free|pro|enterprise")
    HiddenField.objects.create(quiz=quiz, name="partner_id", pattern="[0-9]{1,10}")
    categories = [
        Category.objects.create(quiz=quiz, name=name, order=i) for i, name in enumerate(CATEGORIES)
    ]
    questions, branches = [], []
    for number, (cat, kind, text, help_text, choices, branch) in enumerate(QUESTIONS, start=1):
        question = Question.objects.create(
            quiz=quiz,
            order=number,
            kind=kind,
            text=text,
            help_text=help_text,
            category=categories[cat] if cat is not None else None,
            required=kind != "text",
            **_rating_labels(number),
        )
        questions.append(question)
        for i, (label, points) in enumerate(choices):
            choice = Choice.objects.create(question=question, label=label, points=points, order=i)
            if label in branch:
                branches.append((choice, branch[label]))
    for choice, number in branches:
        choice.next_question = questions[number - 1]
        choice.save(update_fields=["next_question"])
    for name, low, high, colour, headline, body, cta_label, cta_url in TIERS:
        Tier.objects.create(
            quiz=quiz,
            name=name,
            min_percent=low,
            max_percent=high,
            colour=colour,
            headline=headline,
            body=body,
            cta_label=cta_label,
            cta_url=cta_url,
        )
    problems = quiz_publish(quiz=quiz)
    if problems:  # the demo is ours: a problem here is a bug
        raise RuntimeError("The demo quiz does not publish: " + " ".join(problems))
    return quiz, True
