"""Result blocks chosen by rules: which of a quiz's blocks a result shows, and which of
their conditions can never hold. Pure functions over plain values (no database), so the
property tests run them by the thousand and the builder's preview, the result page, the
e-mail and the PDF all decide the same way.

A block shows when its conditions hold: all of them (``match="all"``) or at least one
(``"any"``); a block without conditions always shows. A condition is one of

- ``tier``: the overall tier is ``tier``;
- ``band``: category ``category``'s band is ``band``;
- ``choice``: the answer to ``question`` includes ``choice``;
- ``rating``: the rating given to ``question`` is (``is``), is at least (``gte``) or at
  most (``lte``) ``number``;
- ``hidden``: hidden field ``name`` equals (``is``) or contains (``contains``) ``value``,
  ignoring case.

A condition that points at something removed (None) never holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

TIER, BAND, CHOICE, RATING, HIDDEN = "tier", "band", "choice", "rating", "hidden"
IS, CONTAINS, AT_LEAST, AT_MOST = "is", "contains", "gte", "lte"
ALL, ANY = "all", "any"


@dataclass(frozen=True)
class Condition:
    kind: str
    tier: int | None = None
    category: int | None = None
    band: int | None = None
    question: int | None = None
    choice: int | None = None
    compare: str = IS
    number: int | None = None
    name: str = ""
    value: str = ""


@dataclass(frozen=True)
class Rule:
    """A block's conditions; ``id`` is the block's."""

    id: int
    match: str = ALL
    conditions: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class Facts:
    """What a result knows of its run."""

    tier: int | None = None
    bands: Mapping[int, int] = field(default_factory=dict)  # category id -> band id
    choices: Mapping[int, frozenset[int]] = field(default_factory=dict)  # question -> choices
    ratings: Mapping[int, int] = field(default_factory=dict)  # question id -> rating
    hidden: Mapping[str, str] = field(default_factory=dict)  # hidden field -> value


def holds(condition: Condition, facts: Facts) -> bool:
    kind = condition.kind
    if kind == TIER:
        return condition.tier is not None and facts.tier == condition.tier
    if kind == BAND:
        return (
            condition.band is not None
            and condition.category is not None
            and facts.bands.get(condition.category) == condition.band
        )
    if kind == CHOICE:
        return condition.choice is not None and condition.choice in facts.choices.get(
            condition.question, frozenset()
        )
    if kind == RATING:
        rating = facts.ratings.get(condition.question)
        if rating is None or condition.number is None:
            return False
        if condition.compare == AT_LEAST:
            return rating >= condition.number
        if condition.compare == AT_MOST:
            return rating <= condition.number
        return rating == condition.number
    if kind == HIDDEN:
        given = facts.hidden.get(condition.name)
        if given is None or not condition.value:
            return False
        given, wanted = given.casefold(), condition.value.casefold()
        return wanted in given if condition.compare == CONTAINS else given == wanted
    return False


def shows(rule: Rule, facts: Facts) -> bool:
    if not rule.conditions:
        return True
    results = (holds(condition, facts) for condition in rule.conditions)
    return any(results) if rule.match == ANY else all(results)


def blocks_shown(rules: Sequence[Rule], facts: Facts) -> list[int]:
    """The ids of the blocks to show, in the order given."""
    return [rule.id for rule in rules if shows(rule, facts)]


# --- What can never hold ------------------------------------------------------------


@dataclass(frozen=True)
class QuestionShape:
    number: int  # its place in the quiz, from 1
    kind: str  # Question.Kind's value
    rating_min: int = 0
    rating_max: int = 10


@dataclass(frozen=True)
class Shape:
    """What a quiz offers to point at, by id, with the words to name each."""

    tiers: Mapping[int, str] = field(default_factory=dict)
    categories: Mapping[int, str] = field(default_factory=dict)
    bands: Mapping[int, tuple[int, str]] = field(default_factory=dict)  # id -> (category, name)
    questions: Mapping[int, QuestionShape] = field(default_factory=dict)
    choices: Mapping[int, tuple[int, str]] = field(default_factory=dict)  # id -> (question, label)
    hidden_names: frozenset[str] = frozenset()


ONE_ANSWER_KINDS = ("single", "yes_no")


def _condition_problem(condition: Condition, shape: Shape) -> str | None:
    kind = condition.kind
    if kind == TIER:
        if condition.tier not in shape.tiers:
            return "its tier was removed: choose a tier."
    elif kind == BAND:
        if condition.band not in shape.bands:
            return "its band was removed: choose a band."
        band_category, band_name = shape.bands[condition.band]
        if condition.category not in shape.categories:
            return "its category was removed: choose a category."
        if band_category != condition.category:
            return (
                f"the band “{band_name}” is not a band of category "
                f"“{shape.categories[condition.category]}”, so it never holds."
            )
    elif kind in (CHOICE, RATING):
        question = shape.questions.get(condition.question)
        if question is None:
            return "its question was removed: choose a question."
        if kind == CHOICE:
            if condition.choice not in shape.choices:
                return "its answer was removed: choose an answer."
            choice_question, label = shape.choices[condition.choice]
            if choice_question != condition.question:
                return (
                    f"“{label}” is not an answer to question {question.number}, so it never holds."
                )
        else:
            if question.kind != "rating":
                return f"question {question.number} is not a rating scale, so it never holds."
            low, high = question.rating_min, question.rating_max
            if condition.number is None or not low <= condition.number <= high:
                return (
                    f"question {question.number} is rated {low}–{high}: "
                    f"{condition.number} is outside that range."
                )
    elif kind == HIDDEN:
        if condition.name not in shape.hidden_names:
            return f"the quiz has no hidden field “{condition.name}”."
    else:
        return f"“{kind}” is not a kind of condition."
    return None


def _contradictions(conditions: Sequence[Condition], shape: Shape) -> list[str]:
    """Pairs that cannot hold together (for "all")."""
    problems = []
    tiers = sorted({c.tier for c in conditions if c.kind == TIER and c.tier in shape.tiers})
    if len(tiers) > 1:
        names = " and ".join(f"“{shape.tiers[t]}”" for t in tiers)
        problems.append(
            f"it needs the tier to be {names} at once, which never happens "
            "(choose “any” to show it for either)."
        )
    by_category: dict[int, set[int]] = {}
    for c in conditions:
        if c.kind == BAND and c.band in shape.bands and shape.bands[c.band][0] == c.category:
            by_category.setdefault(c.category, set()).add(c.band)
    for category, bands in by_category.items():
        if len(bands) > 1:
            names = " and ".join(f"“{shape.bands[b][1]}”" for b in sorted(bands))
            problems.append(
                f"it needs category “{shape.categories[category]}” to be {names} at once, "
                "which never happens."
            )
    by_question: dict[int, set[int]] = {}
    for c in conditions:
        if c.kind == CHOICE and shape.choices.get(c.choice, (None,))[0] == c.question:
            by_question.setdefault(c.question, set()).add(c.choice)
    for question_id, choices in by_question.items():
        question = shape.questions[question_id]
        if len(choices) > 1 and question.kind in ONE_ANSWER_KINDS:
            labels = " and ".join(f"“{shape.choices[c][1]}”" for c in sorted(choices))
            problems.append(
                f"it needs both {labels} as the answer to question {question.number}, "
                "which takes one answer."
            )
    ranges: dict[int, list[int]] = {}
    for c in conditions:
        question = shape.questions.get(c.question)
        if c.kind != RATING or question is None or question.kind != "rating":
            continue
        if c.number is None:
            continue
        low, high = ranges.setdefault(c.question, [question.rating_min, question.rating_max])
        if c.compare == AT_LEAST:
            low = max(low, c.number)
        elif c.compare == AT_MOST:
            high = min(high, c.number)
        else:
            low, high = max(low, c.number), min(high, c.number)
        ranges[c.question] = [low, high]
    for question_id, (low, high) in ranges.items():
        if low > high:
            problems.append(
                f"no rating of question {shape.questions[question_id].number} meets all "
                "its rating conditions."
            )
    equals: dict[str, set[str]] = {}
    for c in conditions:
        if c.kind == HIDDEN and c.compare == IS and c.value:
            equals.setdefault(c.name, set()).add(c.value.casefold())
    for name, values in sorted(equals.items()):
        if len(values) > 1:
            problems.append(
                f"it needs hidden field “{name}” to equal "
                + " and ".join(f"“{v}”" for v in sorted(values))
                + " at once."
            )
    return problems


def rule_problems(rule: Rule, shape: Shape) -> list[str]:
    """Why (some of) a block's conditions can never hold, each in words."""
    problems = []
    for number, condition in enumerate(rule.conditions, start=1):
        problem = _condition_problem(condition, shape)
        if problem:
            problems.append(f"condition {number}: {problem}")
    if rule.match != ANY:
        problems.extend(_contradictions(rule.conditions, shape))
    return problems
