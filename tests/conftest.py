"""Fixtures only wrap factories; helpers that drive the site live in tests/visitor.py."""

import pytest

from tests.leads.factories import LeadFactory
from tests.quizzes.factories import QuizFactory, ScorecardFactory


@pytest.fixture
def scorecard(db):
    return ScorecardFactory()


@pytest.fixture
def draft_quiz(db):
    return QuizFactory()


@pytest.fixture
def lead(db):
    return LeadFactory()
