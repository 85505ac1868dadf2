"""Scoring as pure functions: answers -> points, maximum on the path, percent,
percent per category, tier. No database: the property tests run them by the
thousand.

Percents are whole numbers rounded down, and tiers are bands of whole percents
with both ends included, so the percent shown and the tier given always agree
(79.9 % is 79 %, which is Warm, not Hot).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ScoredAnswer:
    points: int
    max_points: int
    category: str = ""
    skipped: bool = False


@dataclass(frozen=True)
class CategoryScore:
    name: str
    points: int
    max_points: int
    percent: int


@dataclass(frozen=True)
class Score:
    points: int
    max_points: int
    percent: int
    categories: tuple[CategoryScore, ...]


@dataclass(frozen=True)
class TierBand:
    name: str
    min_percent: int
    max_percent: int
    id: int | None = None


def percent_of(points: int, max_points: int) -> int:
    """Whole percent, rounded down, always within 0–100 (0 when nothing could be earned)."""
    if max_points <= 0:
        return 0
    return max(0, min(100, (points * 100) // max_points))


def score_answers(answers: Iterable[ScoredAnswer]) -> Score:
    """Total and per-category score of the answers on the path; skipped ones do not count."""
    counted = [a for a in answers if not a.skipped]
    points = sum(a.points for a in counted)
    max_points = sum(a.max_points for a in counted)
    per_category: dict[str, list[int]] = {}
    for answer in counted:
        if answer.category:
            totals = per_category.setdefault(answer.category, [0, 0])
            totals[0] += answer.points
            totals[1] += answer.max_points
    categories = tuple(
        CategoryScore(name, p, m, percent_of(p, m)) for name, (p, m) in per_category.items()
    )
    return Score(points, max_points, percent_of(points, max_points), categories)


def tier_for(percent: int, tiers: Sequence[TierBand]) -> TierBand:
    """The tier whose band holds `percent`.

    Published quizzes have tiers covering 0–100 without gap; should an edit leave
    a gap, the highest tier starting at or below the percent is taken, then the
    lowest tier, so a lead always gets a tier.
    """
    if not tiers:
        raise ValueError("A quiz needs at least one tier to score a lead.")
    for tier in tiers:
        if tier.min_percent <= percent <= tier.max_percent:
            return tier
    below = [t for t in tiers if t.min_percent <= percent]
    if below:
        return max(below, key=lambda t: t.min_percent)
    return min(tiers, key=lambda t: t.min_percent)
