import factory

from leads.models import Lead
from tests.quizzes.factories import AttemptFactory


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    attempt = factory.SubFactory(AttemptFactory)
    quiz = factory.LazyAttribute(lambda lead: lead.attempt.quiz)
    email = factory.Sequence(lambda n: f"lead{n}@example.com")
    score_points = 30
    score_max = 40
    score_percent = 75
    tier_name = "Warm"
    tier_colour = "#d97706"
