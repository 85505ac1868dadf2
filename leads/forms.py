"""The lead form, shaped by the quiz's settings."""

from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from core.forms import CleanForm, DateField, EmailField, is_ascii_id
from leads.models import Lead
from leads.services import TOO_LONG
from quizzes.models import Quiz

phone_format = RegexValidator(
    r"^\+?[0-9 ()./-]{5,40}$",
    gettext_lazy("Enter a phone number with digits, spaces and an optional +."),
)

# Per field, whole sentences (a translator cannot build them from a field's name).
REQUIRED = {
    "name": gettext_lazy("Please enter your name."),
    "company": gettext_lazy("Please enter your company."),
    "phone": gettext_lazy("Please enter your phone number."),
}


HONEYPOT = "website"


def _limit(field: str) -> int:
    return Lead._meta.get_field(field).max_length


class LeadForm(CleanForm):
    # Lowercased before its length is checked: what is measured is what is stored.
    email = EmailField(
        label=pgettext_lazy("lead form", "Email"),
        max_length=_limit("email"),
        error_messages={
            "required": gettext_lazy("Please enter your email address."),
            "invalid": gettext_lazy(
                "Please enter a valid email address, such as name@example.com."
            ),
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    name = forms.CharField(
        label=pgettext_lazy("lead form", "Name"),
        max_length=_limit("name"),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    company = forms.CharField(
        label=pgettext_lazy("lead form", "Company"),
        max_length=_limit("company"),
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    phone = forms.CharField(
        label=pgettext_lazy("lead form", "Phone"),
        max_length=_limit("phone"),
        validators=[phone_format],
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    consent = forms.BooleanField(required=False)
    # Hidden from people; bots fill it in. Never an error (nobody could see it): any
    # value marks the lead as spam, and the value itself is not stored.
    website = forms.CharField(
        required=False,
        label=gettext_lazy("Leave this field empty"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def __init__(self, *args, quiz: Quiz, **kwargs):
        super().__init__(*args, **kwargs)
        self.quiz = quiz
        for name, mode in (
            ("name", quiz.ask_name),
            ("company", quiz.ask_company),
            ("phone", quiz.ask_phone),
        ):
            if mode == Quiz.FieldMode.OFF:
                del self.fields[name]
            else:
                field = self.fields[name]
                field.required = mode == Quiz.FieldMode.REQUIRED
                field.error_messages["required"] = REQUIRED[name]
                field.error_messages["max_length"] = TOO_LONG[name] % {"limit": field.max_length}
        self.fields["email"].error_messages["max_length"] = TOO_LONG["email"] % {
            "limit": _limit("email")
        }
        if quiz.consent_text:
            consent = self.fields["consent"]
            consent.label = quiz.tr("consent_text")
            consent.required = quiz.consent_required
            consent.error_messages["required"] = _(
                "Please tick the box to agree before continuing."
            )
        else:
            del self.fields["consent"]

    @property
    def is_spam(self) -> bool:
        return bool(self.cleaned_data.get(HONEYPOT))

    def capture_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "email": data["email"],
            "name": data.get("name", "").strip(),
            "company": data.get("company", "").strip(),
            "phone": data.get("phone", "").strip(),
            "consent": bool(data.get("consent")),
            "is_spam": self.is_spam,
        }


class SalesFilterForm(CleanForm):
    """The inbox's filters, all in the URL (a filtered view can be bookmarked)."""

    q = forms.CharField(required=False, max_length=100, label="Search")
    tier = forms.CharField(required=False, max_length=60)
    quiz = forms.ModelChoiceField(
        queryset=Quiz.objects.order_by("title"), required=False, empty_label="Any quiz"
    )
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Lead.Status.choices])
    owner = forms.CharField(required=False, max_length=20)
    start = DateField(required=False, label="From")
    end = DateField(required=False, label="To")
    min_score = forms.IntegerField(required=False, min_value=0, max_value=100, label="Score from")
    max_score = forms.IntegerField(required=False, min_value=0, max_value=100, label="to")
    sort = forms.ChoiceField(
        required=False,
        choices=[
            ("hot", "Hottest first"),
            ("new", "Newest first"),
            ("old", "Oldest first"),
            ("cold", "Coldest first"),
        ],
    )

    def clean(self):
        data = super().clean()
        low, high = data.get("min_score"), data.get("max_score")
        if low is not None and high is not None and low > high:
            raise forms.ValidationError("The lowest score must not be above the highest.")
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            raise forms.ValidationError("“From” must be on or before “To”.")
        owner = data.get("owner") or ""
        if owner not in ("", "none", "me") and not is_ascii_id(owner):
            raise forms.ValidationError("Choose an owner from the list.")
        return data
