import uuid

import factory
from django.utils import timezone

from tests.quizzes.factories import AttemptFactory
from tracking.models import ConversionEvent


class ConversionEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConversionEvent

    event_id = factory.LazyFunction(uuid.uuid4)
    name = "quiz_started"
    attempt = factory.SubFactory(AttemptFactory)
    quiz = factory.LazyAttribute(lambda e: e.attempt.quiz)
    visitor_id = factory.LazyFunction(lambda: uuid.uuid4().hex)
    occurred_at = factory.LazyFunction(timezone.now)
    properties = factory.LazyFunction(lambda: {"question_count": 5})
