"""The database router: without a reports alias it has no opinion."""

from django.db import connections

from core.db import REPORTS, ReportsRouter, reports_database
from tracking.models import ConversionEvent


def test_without_a_replica_the_router_leaves_every_read_on_default():
    assert REPORTS not in connections.settings
    with reports_database():
        assert ReportsRouter().db_for_read(ConversionEvent) is None
        assert ConversionEvent.objects.db == "default"


def test_the_replica_is_never_migrated():
    assert ReportsRouter().allow_migrate(REPORTS, "tracking") is False
    assert ReportsRouter().allow_migrate("default", "tracking") is None
