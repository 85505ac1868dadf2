"""Durations read as a person would say them."""

from datetime import timedelta

import pytest
from django.template import Context, Template

from core.durations import duration_words


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (timedelta(seconds=45.4), "45 s"),
        (0, "0 s"),
        (timedelta(minutes=5, seconds=48.697747), "6 min"),  # was shown as 0:05:48.697747
        (59.6, "1 min"),
        (150, "3 min"),  # half up, as people round
        (timedelta(minutes=59, seconds=40), "1 h"),
        (timedelta(hours=2, minutes=5, seconds=10), "2 h 5 min"),
        (timedelta(hours=23, minutes=59, seconds=50), "1 day"),
        (timedelta(days=1, hours=6), "1 day 6 h"),
        (timedelta(days=2, hours=3), "2 days 3 h"),
        (timedelta(days=3, hours=2), "3 days"),
        (timedelta(days=40), "40 days"),
        (timedelta(seconds=-3), "0 s"),
        (None, ""),
    ],
)
def test_a_duration_is_said_in_the_largest_units_that_matter(value, words):
    assert duration_words(value) == words


def test_the_template_filter_humanises_a_timedelta():
    template = Template("{% load durations %}{{ delta|duration }}")
    assert template.render(Context({"delta": timedelta(seconds=348.7)})) == "6 min"
