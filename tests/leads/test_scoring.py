"""Scoring properties, checked on thousands of generated answer sets (no database)."""

from hypothesis import given
from hypothesis import strategies as st

from leads.scoring import ScoredAnswer, TierBand, percent_of, score_answers, tier_for

CATEGORIES = st.sampled_from(["", "Reach", "Insight", "Action"])


@st.composite
def answers(draw):
    max_points = draw(st.integers(min_value=0, max_value=50))
    points = draw(st.integers(min_value=0, max_value=max_points))
    return ScoredAnswer(points, max_points, draw(CATEGORIES), draw(st.booleans()))


@st.composite
def tier_sets(draw):
    """Tiers covering 0–100 with no gap and no overlap, as publishing demands."""
    cuts = sorted(draw(st.sets(st.integers(min_value=1, max_value=100), max_size=6)))
    lows = [0, *cuts]
    highs = [c - 1 for c in cuts] + [100]
    return [
        TierBand(f"T{i}", low, high, i)
        for i, (low, high) in enumerate(zip(lows, highs, strict=True))
    ]


@given(st.lists(answers(), max_size=30))
def test_percent_is_always_within_0_and_100(given_answers):
    score = score_answers(given_answers)
    assert 0 <= score.percent <= 100
    assert all(0 <= c.percent <= 100 for c in score.categories)


@given(st.integers(min_value=0, max_value=100), tier_sets())
def test_a_tier_is_always_found_and_holds_the_percent(percent, tiers):
    tier = tier_for(percent, tiers)
    assert tier.min_percent <= percent <= tier.max_percent


@given(st.integers(0, 200), st.integers(0, 200), st.integers(1, 200), tier_sets())
def test_more_points_never_give_a_lower_tier(a, b, max_points, tiers):
    low, high = sorted((min(a, max_points), min(b, max_points)))
    low_tier = tier_for(percent_of(low, max_points), tiers)
    high_tier = tier_for(percent_of(high, max_points), tiers)
    assert high_tier.min_percent >= low_tier.min_percent


@given(st.lists(answers(), max_size=20), st.lists(answers(), max_size=20))
def test_skipped_questions_never_count(counted, others):
    counted = [ScoredAnswer(a.points, a.max_points, a.category) for a in counted]
    skipped = [ScoredAnswer(a.points, a.max_points, a.category, skipped=True) for a in others]
    assert score_answers(counted + skipped) == score_answers(counted)


@given(st.lists(answers(), max_size=20))
def test_categories_add_up_to_the_categorised_total(given_answers):
    score = score_answers(given_answers)
    counted = [a for a in given_answers if not a.skipped and a.category]
    assert sum(c.points for c in score.categories) == sum(a.points for a in counted)
    assert sum(c.max_points for c in score.categories) == sum(a.max_points for a in counted)


def test_percent_is_rounded_down_so_the_tier_matches_what_is_shown():
    tiers = [TierBand("Warm", 0, 79), TierBand("Hot", 80, 100)]
    assert percent_of(399, 500) == 79  # 79.8 %
    assert tier_for(percent_of(399, 500), tiers).name == "Warm"
    assert tier_for(percent_of(400, 500), tiers).name == "Hot"


def test_nothing_to_earn_scores_zero_percent():
    assert score_answers([ScoredAnswer(0, 0)]).percent == 0
