"""Fixtures wrap factories and the fake HubSpot; helpers that drive the site live in
tests/visitor.py."""

import pytest
from django.conf import settings as django_settings
from django.test import override_settings

from tests.automations.factories import ActionFactory, ConditionFactory, RuleFactory
from tests.fakes.hubspot import FakeHubSpot
from tests.fakes.smtp import FakeSmtp
from tests.leads.factories import LeadFactory
from tests.quizzes.factories import QuizFactory, ScorecardFactory


@pytest.fixture(autouse=True, scope="session")
def _static_files_without_collectstatic():
    # Production's manifest storage needs `collectstatic` first; the suite serves the
    # files from their folders instead, as `make dev` does.
    plain = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    with override_settings(STORAGES={**django_settings.STORAGES, "staticfiles": plain}):
        yield


@pytest.fixture(autouse=True)
def _media_in_a_temporary_folder(settings, tmp_path):
    # Uploaded pictures go to a folder of the test's own, never into var/media.
    settings.MEDIA_ROOT = str(tmp_path / "media")


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


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    # A new installation sends every visitor their scorecard (automations migration 0008);
    # the suite starts without that rule, so each test sees only the deliveries it is about.
    # The scorecard's tests ask for it: the `scorecard_rule` fixture.
    from automations.models import Rule

    with django_db_blocker.unblock():
        Rule.objects.filter(name__startswith="Scorecard to the visitor").delete()


@pytest.fixture
def scorecard_rule(db):
    rule = RuleFactory(name="Scorecard to the visitor", trigger="lead_submitted")
    ActionFactory(rule=rule, kind="scorecard")
    return rule


@pytest.fixture
def smtp(settings):
    """A real SMTP server on 127.0.0.1; Django's SMTP backend sends to it."""
    server = FakeSmtp()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield server
    server.stop()


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
