"""The visitor's path through branching questions (pure, no database)."""

from hypothesis import given
from hypothesis import strategies as st

from quizzes.paths import walk

ORDER = [10, 20, 30, 40, 50]


def test_without_branches_the_path_is_the_order():
    path = walk(ORDER, {10: None, 20: None})
    assert path.ids == (10, 20, 30)
    assert path.current == 30
    assert (path.position(30), path.total) == (3, 5)


def test_a_branch_skips_the_questions_between_and_shortens_the_total():
    path = walk(ORDER, {10: 40})
    assert path.ids == (10, 40)
    assert path.total == 3  # 10, 40, 50: 20 and 30 are not on this path
    assert path.previous(40) == 10


def test_a_branch_backwards_is_ignored():
    assert walk(ORDER, {10: None, 20: 10}).ids == (10, 20, 30)


def test_the_path_is_complete_when_every_question_on_it_is_answered():
    path = walk(ORDER, {10: 40, 40: None, 50: None, 20: None})
    assert path.complete
    assert path.answered == (10, 40, 50)  # the old answer to 20 is off the path


@st.composite
def answered_maps(draw):
    answered = {}
    for i, qid in enumerate(ORDER):
        if draw(st.booleans()):
            later = ORDER[i + 1 :]
            answered[qid] = draw(st.one_of(st.none(), st.sampled_from(later))) if later else None
    return answered


@given(answered_maps())
def test_the_path_only_moves_forward_and_its_total_is_consistent(answered):
    path = walk(ORDER, answered)
    positions = [ORDER.index(q) for q in path.ids]
    assert positions == sorted(set(positions))
    assert positions[0] == 0
    assert len(path.ids) <= path.total <= len(ORDER)
    if path.complete:
        assert path.total == len(path.ids)
        assert all(q in answered for q in path.ids)
    else:
        assert path.current not in answered
        assert all(q in answered for q in path.answered)
