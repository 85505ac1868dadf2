from datetime import timedelta

from django import forms
from django.conf import settings
from django.utils import timezone

from core.forms import CleanForm, DateField
from quizzes.models import Quiz

MAX_RANGE_DAYS = 366


class ReportFilterForm(CleanForm):
    quiz = forms.ModelChoiceField(queryset=Quiz.objects.order_by("title"), empty_label=None)
    start = DateField(label="From")
    end = DateField(label="To")
    language = forms.ChoiceField(
        label="Language",
        required=False,
        choices=[("", "Any language"), *settings.LANGUAGES],
        help_text="The language the visitor took the quiz in (the events' language).",
    )
    unit = forms.ChoiceField(
        label="Count",
        choices=[("attempts", "Unique attempts"), ("visitors", "Unique visitors")],
        widget=forms.RadioSelect,
    )

    @classmethod
    def from_query(cls, query) -> "ReportFilterForm":
        """Bound to the query string, with the defaults filled in (the last 30 days)."""
        today = timezone.localdate()
        first = Quiz.objects.order_by("-status", "title").first()
        data = {
            "quiz": first.pk if first else "",
            "start": (today - timedelta(days=29)).isoformat(),
            "end": today.isoformat(),
            "unit": "attempts",
            "language": "",
        }
        data.update({k: v for k, v in query.items() if k in data and v})
        return cls(data)

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if start > end:
                raise forms.ValidationError("“From” must be on or before “To”.")
            if (end - start).days >= MAX_RANGE_DAYS:
                raise forms.ValidationError(f"Choose at most {MAX_RANGE_DAYS} days.")
        return data

    def bounds(self):
        """The range as aware datetimes: the end date is included."""
        tz = timezone.get_current_timezone()
        start = timezone.datetime.combine(self.cleaned_data["start"], timezone.datetime.min.time())
        end = timezone.datetime.combine(
            self.cleaned_data["end"] + timedelta(days=1), timezone.datetime.min.time()
        )
        return timezone.make_aware(start, tz), timezone.make_aware(end, tz)
