"""Fixtures for the ad-platform actions: the fake Meta and GA4 servers, and rules."""

import pytest

from tests.automations.factories import ActionFactory, ConditionFactory, RuleFactory
from tests.fakes.ga4 import API_SECRET, MEASUREMENT_ID, FakeGA4
from tests.fakes.meta import PIXEL, TOKEN, FakeMeta


@pytest.fixture
def meta(settings):
    fake = FakeMeta()
    settings.META_GRAPH_BASE_URL = fake.url
    yield fake
    fake.stop()


@pytest.fixture
def ga4(settings):
    fake = FakeGA4()
    settings.GA4_BASE_URL = fake.url
    yield fake
    fake.stop()


@pytest.fixture
def meta_rule(db):
    """Hot leads (percent > 80) -> Meta's Conversions API."""
    rule = RuleFactory(name="Hot leads to Meta")
    ConditionFactory(rule=rule, property="percent", operator=">", value="80")
    ActionFactory(
        rule=rule,
        kind="meta",
        meta_pixel_id=PIXEL,
        meta_access_token=TOKEN,
        phone_country="GB",
    )
    return rule


@pytest.fixture
def ga4_rule(db):
    """Hot leads (percent > 80) -> GA4's generate_lead with a value per tier."""
    rule = RuleFactory(name="Hot leads to GA4")
    ConditionFactory(rule=rule, property="percent", operator=">", value="80")
    ActionFactory(
        rule=rule,
        kind="ga4",
        ga4_measurement_id=MEASUREMENT_ID,
        ga4_api_secret=API_SECRET,
        ga4_tier_values="Hot=100, Warm=30.5, Cold=0",
        ga4_currency="EUR",
    )
    return rule
