"""Ready scorecards a marketer starts from: each a complete quiz (categories, questions,
a branch or two, tiers and their texts), copied as a draft by `quiz_from_template`.

The demo quiz (`quizzes.demo`) is the first of them, published.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from quizzes.models import Category, Choice, Question, Quiz, Tier


@dataclass(frozen=True)
class Q:
    """A question: its category (index), kind, text, help, choices and branches."""

    category: int | None
    kind: str
    text: str
    help_text: str = ""
    choices: tuple[tuple[str, int], ...] = ()
    branch: dict[str, int] = field(default_factory=dict)  # choice label -> question no.
    scale: tuple[str, str] | None = None  # rating: the ends' words


@dataclass(frozen=True)
class T:
    name: str
    low: int
    high: int
    colour: str
    headline: str
    body: str
    cta_label: str
    cta_url: str


YES_NO = (("Yes", 10), ("No", 0))


@dataclass(frozen=True)
class ScorecardTemplate:
    name: str  # the key on the templates page
    slug: str
    title: str
    description: str
    start_label: str
    lead_form_title: str
    consent_text: str
    categories: tuple[str, ...]
    questions: tuple[Q, ...]
    tiers: tuple[T, ...]
    pitch: str  # one line on the templates page: who it is for

    def summary(self) -> dict:
        return {
            "name": self.name,
            "title": self.title,
            "pitch": self.pitch,
            "questions": len(self.questions),
            "categories": ", ".join(self.categories),
            "tiers": ", ".join(f"{t.name} {t.low}–{t.high} %" for t in self.tiers),
        }


MARKETING = ScorecardTemplate(
    name="marketing-measurement",
    slug="marketing-measurement",
    title="Marketing Measurement Scorecard",
    description=(
        "Nine quick questions on how you track, attribute and act on your marketing. "
        "Get a personal score, your weakest area and what to do next."
    ),
    start_label="Get my score",
    lead_form_title="Where should we send your scorecard?",
    consent_text=(
        "Send me occasional tips on marketing measurement. Unsubscribe at any time. "
        "Privacy policy: https://example.com/privacy"
    ),
    categories=("Tracking foundations", "Attribution", "Reporting and action"),
    questions=(
        Q(
            0,
            "yes_no",
            "Do you run paid advertising campaigns?",
            "Search, social, display: any paid channel.",
            YES_NO,
            {"No": 4},
        ),
        Q(
            1,
            "single",
            "How do you tag the links in your paid campaigns?",
            "",
            (
                ("We don't tag them", 0),
                ("Sometimes, by hand", 4),
                ("Always, with a naming convention", 8),
                ("Automatically, checked before launch", 10),
            ),
        ),
        Q(
            1,
            "rating",
            "How confident are you in the revenue each ad channel brings in?",
            scale=("A guess", "We could defend it to the board"),
        ),
        Q(
            0,
            "single",
            "Where are your conversions recorded?",
            "",
            (
                ("Nowhere yet", 0),
                ("Only in the ad platforms", 3),
                ("In a browser analytics tag", 6),
                ("On our server, one event per action", 10),
            ),
        ),
        Q(
            0,
            "multiple",
            "Which of these do you track today?",
            "",
            (
                ("Form submissions", 3),
                ("Qualified leads", 3),
                ("Sales meetings booked", 2),
                ("Closed revenue", 2),
            ),
        ),
        Q(
            2,
            "single",
            "How often does your team look at funnel numbers?",
            "",
            (("Rarely", 0), ("Monthly", 4), ("Weekly", 8), ("Daily, on a shared dashboard", 10)),
        ),
        Q(
            2,
            "yes_no",
            "Do the lead numbers in your analytics match the numbers in your CRM?",
            "",
            YES_NO,
        ),
        Q(
            2,
            "rating",
            "How quickly does sales follow up a hot lead?",
            scale=("Days later", "Within minutes"),
        ),
        Q(
            None,
            "text",
            "What is the one number you wish you could trust?",
            "Tell us in a sentence.",
        ),
    ),
    tiers=(
        T(
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
        T(
            "Warm",
            50,
            79,
            "#d97706",
            "Good foundations, with blind spots",
            "You track the basics; now connect them: attribution that survives ad blockers "
            "and counts that match your CRM.",
            "Watch the 10-minute walkthrough",
            "https://example.com/walkthrough",
        ),
        T(
            "Hot",
            80,
            100,
            "#16a34a",
            "You measure like the best teams",
            "Your funnel is instrumented end to end. Let's talk about getting sales to hot "
            "leads within minutes.",
            "Book a strategy call",
            "https://example.com/book",
        ),
    ),
    pitch="For agencies and analytics tools: how well a team tracks, attributes and acts.",
)

SALES_READINESS = ScorecardTemplate(
    name="sales-readiness",
    slug="sales-readiness",
    title="Sales Readiness Check",
    description=(
        "Eight questions on your pipeline, your process and your team. See where deals "
        "slip away and the one change that would close more of them."
    ),
    start_label="Check my readiness",
    lead_form_title="Where should we send your readiness report?",
    consent_text=(
        "Send me occasional ideas on selling better. Unsubscribe at any time. "
        "Privacy policy: https://example.com/privacy"
    ),
    categories=("Pipeline", "Process", "Team and tools"),
    questions=(
        Q(
            0,
            "single",
            "How many qualified opportunities are in your pipeline right now?",
            "Deals with a named buyer, a need and a next step.",
            (("I don't know", 0), ("Fewer than 10", 3), ("10 to 50", 7), ("More than 50", 10)),
        ),
        Q(
            0,
            "yes_no",
            "Do you know your win rate for the last quarter?",
            "",
            YES_NO,
        ),
        Q(
            0,
            "rating",
            "How accurate was last quarter's forecast?",
            scale=("Way off", "Within a few percent"),
        ),
        Q(
            1,
            "yes_no",
            "Do you have a written qualification framework (BANT, MEDDICC or your own)?",
            "",
            YES_NO,
            {"No": 6},
        ),
        Q(
            1,
            "single",
            "How consistently do reps use it?",
            "",
            (
                ("Rarely", 0),
                ("Some reps, some deals", 4),
                ("Most deals", 7),
                ("Every deal, checked in reviews", 10),
            ),
        ),
        Q(
            1,
            "single",
            "How fast does a new inbound lead get a first response?",
            "",
            (("A day or more", 0), ("Within hours", 5), ("Within the hour", 8), ("Minutes", 10)),
        ),
        Q(
            2,
            "multiple",
            "Which of these does your team use every week?",
            "",
            (
                ("A CRM kept up to date", 4),
                ("Call recordings or notes", 2),
                ("Pipeline reviews", 2),
                ("Coaching sessions", 2),
            ),
        ),
        Q(
            None,
            "text",
            "What is the biggest reason deals stall for you?",
            "One sentence is plenty.",
        ),
    ),
    tiers=(
        T(
            "Getting started",
            0,
            39,
            "#64748b",
            "Deals are slipping through the cracks",
            "Start with one shared definition of a qualified opportunity and a CRM every "
            "rep keeps current. The forecast follows from there.",
            "Get the pipeline checklist",
            "https://example.com/pipeline-checklist",
        ),
        T(
            "Building",
            40,
            74,
            "#d97706",
            "A working process with leaks",
            "You have the parts; make them habits: qualification in every deal review and "
            "a first response within the hour.",
            "Watch the deal-review session",
            "https://example.com/deal-review",
        ),
        T(
            "Ready",
            75,
            100,
            "#16a34a",
            "Your team is ready to scale",
            "Your pipeline is visible and your process is followed. Let's talk about adding "
            "reps without losing that.",
            "Book a growth call",
            "https://example.com/growth-call",
        ),
    ),
    pitch="For sales consultancies and CRM vendors: pipeline, process and team.",
)

WEBSITE_HEALTH = ScorecardTemplate(
    name="website-conversion",
    slug="website-conversion",
    title="Website Conversion Health Check",
    description=(
        "Seven questions on how your website turns visitors into enquiries. Find the leak "
        "that costs you the most, with a fix for each."
    ),
    start_label="Check my website",
    lead_form_title="Where should we send your health check?",
    consent_text=(
        "Send me occasional website tips. Unsubscribe at any time. "
        "Privacy policy: https://example.com/privacy"
    ),
    categories=("Speed and mobile", "Message", "Calls to action"),
    questions=(
        Q(
            0,
            "single",
            "How long does your home page take to load on a phone?",
            "Try it on mobile data if you are unsure.",
            (
                ("I don't know", 0),
                ("More than 5 seconds", 2),
                ("2 to 5 seconds", 6),
                ("Under 2 seconds", 10),
            ),
        ),
        Q(
            0,
            "yes_no",
            "Can a visitor fill in your main form comfortably on a phone?",
            "",
            YES_NO,
        ),
        Q(
            1,
            "rating",
            "How clearly does your first screen say what you do and for whom?",
            scale=("Hard to tell", "Crystal clear"),
        ),
        Q(
            1,
            "yes_no",
            "Do you show proof near your offer (reviews, logos, numbers)?",
            "",
            YES_NO,
        ),
        Q(
            2,
            "yes_no",
            "Does every page end with one clear next step?",
            "",
            YES_NO,
            {"No": 7},
        ),
        Q(
            2,
            "single",
            "How many fields does your main enquiry form ask for?",
            "",
            (("More than 8", 2), ("6 to 8", 5), ("3 to 5", 8), ("1 or 2", 10)),
        ),
        Q(
            2,
            "multiple",
            "Which of these do you measure?",
            "",
            (
                ("Form starts", 2),
                ("Form submissions", 3),
                ("Calls from the site", 2),
                ("Which pages lead to enquiries", 3),
            ),
        ),
    ),
    tiers=(
        T(
            "Leaky",
            0,
            44,
            "#b91c1c",
            "Visitors leave before they can say yes",
            "Fix speed and the mobile form first: most visitors are on phones, and each "
            "second of waiting loses some of them.",
            "Get the quick-wins list",
            "https://example.com/quick-wins",
        ),
        T(
            "Solid",
            45,
            79,
            "#d97706",
            "A good site with a few leaks",
            "Your basics hold; sharpen the message on the first screen and give every "
            "page one next step.",
            "See three before-and-after pages",
            "https://example.com/before-after",
        ),
        T(
            "Converting",
            80,
            100,
            "#16a34a",
            "Your site turns visitors into conversations",
            "You are ahead of most. Let's look at testing offers and pages to grow from here.",
            "Book a conversion review",
            "https://example.com/review",
        ),
    ),
    pitch="For web agencies and freelancers: speed, message and calls to action.",
)

TEMPLATES: dict[str, ScorecardTemplate] = {
    t.name: t for t in (MARKETING, SALES_READINESS, WEBSITE_HEALTH)
}


def _free_slug(base: str) -> str:
    slug, n = base, 2
    while Quiz.objects.filter(slug=slug).exists():
        slug, n = f"{base[:70]}-{n}", n + 1
    return slug


@transaction.atomic
def quiz_from_template(*, name: str, slug: str | None = None) -> Quiz:
    """A new draft quiz, complete, from the template `name` (KeyError if unknown)."""
    template = TEMPLATES[name]
    quiz = Quiz.objects.create(
        slug=slug or _free_slug(template.slug),
        title=template.title,
        description=template.description,
        start_label=template.start_label,
        lead_form_title=template.lead_form_title,
        ask_name=Quiz.FieldMode.OPTIONAL,
        ask_company=Quiz.FieldMode.OPTIONAL,
        ask_phone=Quiz.FieldMode.OFF,
        consent_text=template.consent_text,
    )
    categories = [
        Category(quiz=quiz, name=name, order=i) for i, name in enumerate(template.categories)
    ]
    Category.objects.bulk_create(categories)
    questions, branches = [], []
    for number, q in enumerate(template.questions, start=1):
        scale = {}
        if q.scale:
            scale = {"rating_min_label": q.scale[0], "rating_max_label": q.scale[1]}
        question = Question.objects.create(
            quiz=quiz,
            order=number,
            kind=q.kind,
            text=q.text,
            help_text=q.help_text,
            category=categories[q.category] if q.category is not None else None,
            required=q.kind != Question.Kind.TEXT,
            **scale,
        )
        questions.append(question)
        for i, (label, points) in enumerate(q.choices):
            choice = Choice.objects.create(question=question, label=label, points=points, order=i)
            if label in q.branch:
                branches.append((choice, q.branch[label]))
    for choice, number in branches:
        choice.next_question = questions[number - 1]
        choice.save(update_fields=["next_question"])
    Tier.objects.bulk_create(
        Tier(
            quiz=quiz,
            name=t.name,
            min_percent=t.low,
            max_percent=t.high,
            colour=t.colour,
            headline=t.headline,
            body=t.body,
            cta_label=t.cta_label,
            cta_url=t.cta_url,
        )
        for t in template.tiers
    )
    return quiz
