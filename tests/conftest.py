"""Fixtures wrap factories and the fake HubSpot; helpers that drive the site live in
tests/visitor.py."""

import pytest
from django.conf import settings as django_settings
from django.test import override_settings

from tests.automations.factories import ActionFactory, ConditionFactory, RuleFactory
from tests.fakes.hubspot import FakeHubSpot
from tests.leads.factories import LeadFactory
from tests.quizzes.factories import QuizFactory, ScorecardFactory


@pytest.fixture(autouse=True, scope="session")
def _static_files_without_collectstatic():
    # Production's manifest storage needs `collectstatic` first; the suite serves the
    # files from their folders instead, as `make dev` does.
    plain = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    with override_settings(STORAGES={**django_settings.STORAGES, "staticfiles": plain}):
        yield


@pytest.fixture
def scorecard(db):
    return ScorecardFactory()


@pytest.fixture
def draft_quiz(db):
    return QuizFactory()


@pytest.fixture
def lead(db):
    return LeadFactory()


@pytest.fixture(autouse=True)
def _deliveries_wait_for_the_test(settings):
    # Tests run deliveries themselves; only the real-worker tests queue them.
    settings.AUTOMATIONS_QUEUE = False
    settings.AUTOMATIONS_ALLOW_PRIVATE_URLS = True
    settings.AUTOMATIONS_BACKOFF_BASE = 0.01
    settings.AUTOMATIONS_HUBSPOT_SEARCH_SETTLE = 0
    # The rate-limit tests set their own; the others never wait for one.
    settings.HUBSPOT_RATE_LIMIT_PER_10S = 100_000
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def hubspot(settings):
    fake = FakeHubSpot()
    settings.HUBSPOT_BASE_URL = fake.url
    settings.HUBSPOT_TOKEN = fake.token
    fake.forget_waits()  # the shared limit outlives a test (Redis, or a file in var/)
    yield fake
    fake.stop()
    fake.forget_waits()


@pytest.fixture
def hot_rule(db):
    """lead_submitted with percent > 80 -> HubSpot task."""
    rule = RuleFactory(name="Hot leads to HubSpot")
    ConditionFactory(rule=rule, property="percent", operator=">", value="80")
    ActionFactory(rule=rule, kind="hubspot", hubspot_owner_id="77")
    return rule
