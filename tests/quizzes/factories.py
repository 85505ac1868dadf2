import factory

from quizzes.models import Answer, Attempt, Category, Choice, Question, Quiz, Tier


class QuizFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Quiz

    title = factory.Sequence(lambda n: f"Growth scorecard {n}")
    slug = factory.Sequence(lambda n: f"growth-{n}")
    description = "How ready is your growth engine?"
    consent_text = "Email me tips."


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    quiz = factory.SubFactory(QuizFactory)
    name = factory.Sequence(lambda n: f"Category {n}")


class TierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tier

    quiz = factory.SubFactory(QuizFactory)
    name = "Cold"
    min_percent = 0
    max_percent = 100
    colour = "#64748b"
    headline = factory.LazyAttribute(lambda t: f"{t.name} headline")


class QuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Question

    quiz = factory.SubFactory(QuizFactory)
    kind = Question.Kind.SINGLE
    text = factory.Sequence(lambda n: f"Question {n}?")
    order = factory.Sequence(lambda n: n)


class ChoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Choice

    question = factory.SubFactory(QuestionFactory)
    label = factory.Sequence(lambda n: f"Choice {n}")
    points = 0
    order = factory.Sequence(lambda n: n)


class AttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Attempt

    quiz = factory.SubFactory(QuizFactory)


class AnswerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Answer

    attempt = factory.SubFactory(AttemptFactory)
    question = factory.SubFactory(QuestionFactory)


class ScorecardFactory(QuizFactory):
    """A published quiz with every question kind and one branch.

    1. yes/no "Do you advertise?" (Reach): Yes 10, No 0 -> skips to question 3
    2. single "How do you tag links?" (Reach): Never 0, Sometimes 5, Always 10
    3. multiple "What do you track?" (Insight): Forms 3, Leads 3, Revenue 4
    4. rating 0-10 "How confident are you?" (Insight): 1 point a step
    5. text "Anything else?" (optional, not scored)
    Tiers: Cold 0-49, Warm 50-79, Hot 80-100. Maximum: 40, or 30 after "No".
    """

    status = Quiz.Status.PUBLISHED

    class Meta:
        skip_postgeneration_save = True

    @factory.post_generation
    def structure(quiz, create, extracted, **kwargs):
        if not create:
            return
        reach = CategoryFactory(quiz=quiz, name="Reach", order=0)
        insight = CategoryFactory(quiz=quiz, name="Insight", order=1)
        q1 = QuestionFactory(
            quiz=quiz, order=1, kind=Question.Kind.YES_NO, text="Do you advertise?", category=reach
        )
        q2 = QuestionFactory(quiz=quiz, order=2, text="How do you tag links?", category=reach)
        q3 = QuestionFactory(
            quiz=quiz,
            order=3,
            kind=Question.Kind.MULTIPLE,
            text="What do you track?",
            category=insight,
        )
        QuestionFactory(
            quiz=quiz,
            order=4,
            kind=Question.Kind.RATING,
            text="How confident are you?",
            category=insight,
            rating_min=0,
            rating_max=10,
        )
        QuestionFactory(
            quiz=quiz, order=5, kind=Question.Kind.TEXT, text="Anything else?", required=False
        )
        ChoiceFactory(question=q1, label="Yes", points=10, order=0)
        ChoiceFactory(question=q1, label="No", points=0, order=1, next_question=q3)
        for i, (label, points) in enumerate([("Never", 0), ("Sometimes", 5), ("Always", 10)]):
            ChoiceFactory(question=q2, label=label, points=points, order=i)
        for i, (label, points) in enumerate([("Forms", 3), ("Leads", 3), ("Revenue", 4)]):
            ChoiceFactory(question=q3, label=label, points=points, order=i)
        TierFactory(quiz=quiz, name="Cold", min_percent=0, max_percent=49, colour="#64748b")
        TierFactory(quiz=quiz, name="Warm", min_percent=50, max_percent=79, colour="#d97706")
        TierFactory(quiz=quiz, name="Hot", min_percent=80, max_percent=100, colour="#16a34a")
