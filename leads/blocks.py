"""Which result blocks (quizzes.blocks) a lead's result shows, and the builder's preview of
which blocks a set of answers would show: both build the run's facts and let
`quizzes.blocks` decide."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from leads.models import Lead
from leads.scoring import ScoredAnswer, TierBand, score_answers, tier_for
from leads.services import category_scores_with_advice
from quizzes.blocks import Facts
from quizzes.models import Question, Quiz, ResultBlock
from quizzes.selectors import attempt_state, result_blocks_shown


def _bands_by_id(quiz: Quiz, category_scores: list[dict]) -> dict[int, int]:
    """category id -> band id, from the bands named in the scores as given."""
    named = {row["name"]: row.get("band") for row in category_scores if row.get("band")}
    bands = {}
    for category in quiz.categories.prefetch_related("bands"):
        band_name = named.get(category.name)
        band = next((b for b in category.bands.all() if b.name == band_name), None)
        if band is not None:
            bands[category.pk] = band.pk
    return bands


def lead_facts(lead: Lead) -> Facts:
    """What the lead's result knows: its tier and bands as given, the answers on its
    run's path, its hidden fields."""
    attempt = lead.attempt
    state = attempt_state(attempt=attempt)
    choices, ratings = {}, {}
    for answer in state.on_path_answers():
        if answer.skipped:
            continue
        if answer.rating is not None:
            ratings[answer.question_id] = answer.rating
        chosen = frozenset(c.pk for c in answer.choices.all())
        if chosen:
            choices[answer.question_id] = chosen
    return Facts(
        tier=lead.tier_id,
        bands=_bands_by_id(lead.quiz, list(lead.category_scores or [])),
        choices=choices,
        ratings=ratings,
        hidden=dict(lead.hidden_fields or attempt.hidden_fields or {}),
    )


def _with_links(lead: Lead, shown: list[ResultBlock]) -> list[ResultBlock]:
    # Each block's call to action made personal like the tier's (Lead.personal_link),
    # from its text in the active language.
    for block in shown:
        block.href = lead.personal_link(block.tr("cta_url"))
    return shown


def lead_result_blocks(lead: Lead) -> list[ResultBlock]:
    """The quiz's result blocks whose conditions hold for this lead, in order; each with
    `href`, its call to action's personal link ("" without one)."""
    if not lead.quiz.result_blocks.exists():
        return []
    return _with_links(lead, result_blocks_shown(quiz=lead.quiz, facts=lead_facts(lead)))


@dataclass
class Preview:
    """What the builder shows for a set of answers."""

    percent: int
    tier: str
    bands: list[dict]  # {"name", "percent", "band"}
    blocks: list[ResultBlock]
    hidden: dict[str, str] = field(default_factory=dict)


def blocks_preview(
    *,
    quiz: Quiz,
    choices: Mapping[int, list[int]],
    ratings: Mapping[int, int],
    hidden: Mapping[str, str],
) -> Preview:
    """Score the given answers as a run would (unanswered questions count as skipped, the
    path is not walked) and pick the blocks they show. Ids not of this quiz are ignored."""
    scored, chosen, rated = [], {}, {}
    for question in quiz.ordered_questions():
        category = question.category.name if question.category_id else ""
        if question.kind == Question.Kind.RATING and question.pk in ratings:
            rating = ratings[question.pk]
            if rating not in question.rating_values():
                continue
            rated[question.pk] = rating
            points = question.points_for(rating=rating)
        elif question.is_choice and choices.get(question.pk):
            picked = [c for c in question.choices.all() if c.pk in set(choices[question.pk])]
            if question.kind != Question.Kind.MULTIPLE:
                picked = picked[:1]
            if not picked:
                continue
            chosen[question.pk] = frozenset(c.pk for c in picked)
            points = question.points_for(choices=picked)
        else:
            continue
        if question.is_scored:
            scored.append(ScoredAnswer(points, question.max_points(), category))
    score = score_answers(scored)
    tiers = list(quiz.tiers.all())
    tier = None
    if tiers:
        band = tier_for(
            score.percent, [TierBand(t.name, t.min_percent, t.max_percent, t.pk) for t in tiers]
        )
        tier = next(t for t in tiers if t.pk == band.id)
    category_scores = category_scores_with_advice(quiz, score)
    declared = set(quiz.hidden_fields.values_list("name", flat=True))
    kept = {name: value for name, value in hidden.items() if name in declared and value}
    facts = Facts(
        tier=tier.pk if tier else None,
        bands=_bands_by_id(quiz, category_scores),
        choices=chosen,
        ratings=rated,
        hidden=kept,
    )
    stand_in = Lead(
        quiz=quiz,
        tier=tier,
        tier_name=tier.name if tier else "",
        score_percent=score.percent,
    )
    shown = _with_links(stand_in, result_blocks_shown(quiz=quiz, facts=facts))
    return Preview(
        percent=score.percent,
        tier=tier.name if tier else "",
        bands=[
            {"name": row["name"], "percent": row["percent"], "band": row.get("band", "")}
            for row in category_scores
        ],
        blocks=shown,
        hidden=kept,
    )
