"""Result blocks chosen by rules: the evaluator against a plain reference, the conditions
that can never hold (flagged in words, refused on publish), and what the builder saves."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from quizzes import blocks
from quizzes.blocks import Condition, Facts, QuestionShape, Rule, Shape
from quizzes.models import BlockCondition, CategoryBand, Quiz, ResultBlock
from quizzes.services import quiz_duplicate, quiz_problems, quiz_publish
from tests.quizzes.factories import ScorecardFactory

# --- The evaluator, against a reference written the plain way ------------------------

IDS = st.integers(min_value=1, max_value=4)
NAMES = st.sampled_from(["plan", "partner", "source"])
VALUES = st.sampled_from(["pro", "PRO", "enterprise", "free", "pro-plus", ""])

conditions = st.one_of(
    st.builds(Condition, kind=st.just("tier"), tier=st.one_of(st.none(), IDS)),
    st.builds(Condition, kind=st.just("band"), category=IDS, band=st.one_of(st.none(), IDS)),
    st.builds(Condition, kind=st.just("choice"), question=IDS, choice=st.one_of(st.none(), IDS)),
    st.builds(
        Condition,
        kind=st.just("rating"),
        question=IDS,
        compare=st.sampled_from(["is", "gte", "lte"]),
        number=st.one_of(st.none(), st.integers(0, 5)),
    ),
    st.builds(
        Condition,
        kind=st.just("hidden"),
        name=NAMES,
        compare=st.sampled_from(["is", "contains"]),
        value=VALUES,
    ),
)
rules = st.lists(
    st.builds(
        Rule,
        id=st.integers(1, 10_000),
        match=st.sampled_from(["all", "any"]),
        conditions=st.lists(conditions, max_size=4).map(tuple),
    ),
    max_size=6,
)
facts = st.builds(
    Facts,
    tier=st.one_of(st.none(), IDS),
    bands=st.dictionaries(IDS, IDS),
    choices=st.dictionaries(IDS, st.frozensets(IDS, max_size=3)),
    ratings=st.dictionaries(IDS, st.integers(0, 5)),
    hidden=st.dictionaries(NAMES, VALUES),
)


def reference_condition(c: Condition, f: Facts) -> bool:
    if c.kind == "tier":
        return c.tier is not None and c.tier == f.tier
    if c.kind == "band":
        return c.band is not None and c.category in f.bands and f.bands[c.category] == c.band
    if c.kind == "choice":
        return c.question in f.choices and c.choice in f.choices[c.question]
    if c.kind == "rating":
        if c.question not in f.ratings or c.number is None:
            return False
        r = f.ratings[c.question]
        return {"is": r == c.number, "gte": r >= c.number, "lte": r <= c.number}[c.compare]
    if c.name not in f.hidden or c.value == "":
        return False
    given_value, wanted = f.hidden[c.name].lower(), c.value.lower()
    return wanted in given_value if c.compare == "contains" else given_value == wanted


def reference(rules_: list[Rule], f: Facts) -> list[int]:
    shown = []
    for rule in rules_:
        results = [reference_condition(c, f) for c in rule.conditions]
        wanted = (True in results) if rule.match == "any" else (False not in results)
        if not results or wanted:
            shown.append(rule.id)
    return shown


@settings(max_examples=400, deadline=None)
@given(rules, facts)
def test_the_blocks_shown_are_those_the_reference_shows_in_the_same_order(rules_, f):
    assert blocks.blocks_shown(rules_, f) == reference(rules_, f)


def test_a_block_without_conditions_always_shows_and_any_needs_one():
    always = Rule(1)
    either = Rule(2, "any", (Condition("tier", tier=1), Condition("tier", tier=2)))
    assert blocks.blocks_shown([always, either], Facts(tier=3)) == [1]
    assert blocks.blocks_shown([either, always], Facts(tier=2)) == [2, 1]


def test_hidden_fields_match_ignoring_case():
    rule = Rule(1, conditions=(Condition("hidden", name="utm", value="LinkedIn"),))
    assert blocks.blocks_shown([rule], Facts(hidden={"utm": "linkedin"})) == [1]
    contains = Rule(
        2, conditions=(Condition("hidden", name="utm", compare="contains", value="in"),)
    )
    assert blocks.blocks_shown([contains], Facts(hidden={"utm": "LINKEDIN"})) == [2]
    assert blocks.blocks_shown([contains], Facts()) == []


# --- Conditions that can never hold, in words ----------------------------------------

SHAPE = Shape(
    tiers={1: "Cold", 2: "Hot"},
    categories={10: "Attribution", 11: "Tracking"},
    bands={20: (10, "Weak"), 21: (10, "Strong"), 22: (11, "Weak")},
    questions={
        30: QuestionShape(1, "single"),
        31: QuestionShape(2, "rating", 0, 10),
        32: QuestionShape(3, "multiple"),
    },
    choices={40: (30, "Nowhere"), 41: (30, "On our server"), 42: (32, "Forms"), 43: (32, "Leads")},
    hidden_names=frozenset({"plan"}),
)


def problems(*conditions, match="all"):
    return blocks.rule_problems(Rule(1, match, conditions), SHAPE)


@pytest.mark.parametrize(
    ("conditions", "words"),
    [
        (
            [Condition("tier", tier=2), Condition("tier", tier=1)],
            "it needs the tier to be “Cold” and “Hot” at once, which never happens",
        ),
        (
            [Condition("band", category=11, band=21)],
            "condition 1: the band “Strong” is not a band of category “Tracking”",
        ),
        (
            [Condition("choice", question=31, choice=40)],
            "condition 1: “Nowhere” is not an answer to question 2",
        ),
        (
            [Condition("rating", question=31, compare="gte", number=11)],
            "condition 1: question 2 is rated 0–10: 11 is outside that range.",
        ),
        (
            [Condition("rating", question=30, compare="gte", number=3)],
            "condition 1: question 1 is not a rating scale",
        ),
        (
            [
                Condition("choice", question=30, choice=40),
                Condition("choice", question=30, choice=41),
            ],
            "it needs both “Nowhere” and “On our server” as the answer to question 1, which "
            "takes one answer.",
        ),
        (
            [
                Condition("rating", question=31, compare="gte", number=8),
                Condition("rating", question=31, compare="lte", number=3),
            ],
            "no rating of question 2 meets all its rating conditions.",
        ),
        (
            [Condition("band", category=10, band=20), Condition("band", category=10, band=21)],
            "it needs category “Attribution” to be “Weak” and “Strong” at once",
        ),
        ([Condition("hidden", name="coupon", value="x")], "the quiz has no hidden field “coupon”"),
        ([Condition("tier", tier=None)], "condition 1: its tier was removed"),
    ],
)
def test_an_impossible_condition_is_named_in_words(conditions, words):
    found = problems(*conditions)
    assert any(words in p for p in found), found


def test_conditions_that_can_hold_are_not_flagged():
    assert (
        problems(
            Condition("tier", tier=2),
            Condition("band", category=10, band=20),
            Condition("band", category=11, band=22),
            Condition("choice", question=32, choice=42),
            Condition("choice", question=32, choice=43),  # a multiple choice takes both
            Condition("rating", question=31, compare="gte", number=3),
            Condition("rating", question=31, compare="lte", number=8),
            Condition("hidden", name="plan", value="pro"),
        )
        == []
    )
    # "Any" of two tiers is the way to show a block to either.
    assert problems(Condition("tier", tier=1), Condition("tier", tier=2), match="any") == []


# --- On the quiz: refused on publish, saved tidy, copied -----------------------------


def _block(quiz, headline="Book an audit", **fields) -> ResultBlock:
    return ResultBlock.objects.create(quiz=quiz, headline=headline, **fields)


@pytest.mark.django_db
def test_publish_refuses_a_block_that_needs_two_tiers_at_once():
    draft_quiz = ScorecardFactory(status=Quiz.Status.DRAFT)
    cold, hot = draft_quiz.tiers.get(name="Cold"), draft_quiz.tiers.get(name="Hot")
    block = _block(draft_quiz, headline="Hot and cold")
    BlockCondition.objects.create(block=block, kind="tier", tier=hot)
    BlockCondition.objects.create(block=block, kind="tier", tier=cold)

    refused = quiz_publish(quiz=draft_quiz)

    assert refused == [
        "Result block 1 (“Hot and cold”): it needs the tier to be “Cold” and “Hot” at once, "
        "which never happens (choose “any” to show it for either)."
    ]
    draft_quiz.refresh_from_db()
    assert not draft_quiz.is_published
    block.match = ResultBlock.Match.ANY
    block.save()
    assert quiz_publish(quiz=draft_quiz) == []


@pytest.mark.django_db
def test_a_band_of_another_category_and_a_removed_tier_are_flagged(scorecard):
    reach, insight = (
        scorecard.categories.get(name="Reach"),
        scorecard.categories.get(name="Insight"),
    )
    weak = CategoryBand.objects.create(
        category=insight, name="Weak", min_percent=0, max_percent=100
    )
    block = _block(scorecard)
    BlockCondition.objects.create(block=block, kind="band", category=reach, band=weak)
    tier_condition = BlockCondition.objects.create(
        block=block, kind="tier", tier=scorecard.tiers.get(name="Hot")
    )
    scorecard.tiers.get(name="Hot").delete()
    tier_condition.refresh_from_db()
    assert tier_condition.tier is None  # kept, so the block does not show to everyone

    found = quiz_problems(quiz=scorecard)

    assert "Result block 1 (“Book an audit”): condition 1: the band “Weak” is not a band of " in (
        " ".join(found)
    )
    assert any("condition 2: its tier was removed: choose a tier." in p for p in found)


@pytest.mark.django_db
def test_a_condition_says_what_its_kind_needs_and_brings_its_category(scorecard):
    insight = scorecard.categories.get(name="Insight")
    weak = CategoryBand.objects.create(category=insight, name="Weak", min_percent=0, max_percent=39)
    block = _block(scorecard)
    condition = BlockCondition(block=block, kind="band", band=weak, field_name="plan", value="x")
    condition.full_clean()
    assert condition.category == insight  # taken from the band
    assert (condition.field_name, condition.value) == ("", "")  # not a hidden-field condition

    with pytest.raises(ValidationError) as error:
        BlockCondition(block=block, kind="rating", compare="gte").full_clean()
    assert set(error.value.message_dict) >= {"question", "number"}
    with pytest.raises(ValidationError) as error:
        BlockCondition(block=block, kind="nope").full_clean()
    assert "kind" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        ResultBlock(quiz=scorecard, headline="x", cta_url="https://example.com").full_clean()
    assert "cta_label" in error.value.message_dict


@pytest.mark.django_db
def test_duplicating_a_quiz_copies_its_blocks_pointing_at_the_copy(scorecard):
    block = _block(scorecard)
    hot = scorecard.tiers.get(name="Hot")
    yes = scorecard.questions.get(text="Do you advertise?").choices.get(label="Yes")
    BlockCondition.objects.create(block=block, kind="tier", tier=hot)
    BlockCondition.objects.create(block=block, kind="choice", question=yes.question, choice=yes)

    copy = quiz_duplicate(quiz=scorecard)

    [copied] = copy.result_blocks.all()
    tier_condition, choice_condition = copied.conditions.order_by("pk")
    assert tier_condition.tier.quiz == copy and tier_condition.tier.name == "Hot"
    assert choice_condition.choice.question.quiz == copy
    assert choice_condition.choice.label == "Yes"
    assert quiz_problems(quiz=copy) == []
