"""The plain forms of the visitor's run: one per question kind.

They parse what the browser sent into the service's arguments and render the
question; the answer's rules (an option of this question, one of a single
choice, a value on the scale, required, the length of a text) are checked once,
in `quizzes.services.answer_submit`, whose message the view puts on the form.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.forms import CleanForm, is_ascii_id
from quizzes.models import Answer, Question

NOT_AN_OPTION = gettext_lazy("That answer is not one of this question's options.")


class _AnyId:
    """Choices that accept any id: whether it is an option is the service's check."""

    def valid_value(self, value) -> bool:
        return is_ascii_id(str(value))


class _ChoiceField(_AnyId, forms.ChoiceField):
    pass


class _MultipleChoiceField(_AnyId, forms.MultipleChoiceField):
    pass


class _RatingField(forms.TypedChoiceField):
    def valid_value(self, value) -> bool:  # on the scale or not: the service says
        return True


class StartForm(CleanForm):
    start_key = forms.UUIDField(widget=forms.HiddenInput)


class AnswerForm(CleanForm):
    """Built for one question; `cleaned_answer()` gives the service's arguments."""

    def __init__(self, *args, question: Question, answer: Answer | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.question = question
        kind = question.kind
        if question.is_choice:
            options = [(str(c.pk), c.tr("label")) for c in question.choices.all()]
            if kind == Question.Kind.MULTIPLE:
                field = _MultipleChoiceField(
                    choices=options,
                    required=False,
                    widget=forms.CheckboxSelectMultiple,
                    error_messages={"invalid_choice": NOT_AN_OPTION, "invalid_list": NOT_AN_OPTION},
                )
                initial = [str(c.pk) for c in answer.choices.all()] if answer else []
            else:
                field = _ChoiceField(
                    choices=options,
                    required=False,
                    widget=forms.RadioSelect,
                    error_messages={"invalid_choice": NOT_AN_OPTION},
                )
                chosen = list(answer.choices.all()) if answer else []
                initial = str(chosen[0].pk) if chosen else None
        elif kind == Question.Kind.RATING:
            scale = _("Choose a value from %(low)s to %(high)s.") % {
                "low": question.rating_min,
                "high": question.rating_max,
            }
            field = _RatingField(
                choices=[(str(v), str(v)) for v in question.rating_values()],
                coerce=_whole_number,
                empty_value=None,
                required=False,
                widget=forms.RadioSelect,
                error_messages={"invalid_choice": scale},
            )
            initial = str(answer.rating) if answer and answer.rating is not None else None
        else:
            max_length = Answer._meta.get_field("text").max_length
            # No max_length here: the browser would cut a long answer without a word
            # (maxlength). The counter under the box shows the limit; the service says
            # when it is over. The field's max_length is only for the template's hint.
            field = forms.CharField(
                required=False,
                strip=False,
                widget=forms.Textarea(
                    attrs={"rows": 3, "data-limit": max_length, "aria-describedby": "answer-limit"}
                ),
            )
            field.max_length = max_length
            initial = answer.text if answer else ""
        field.label = question.tr("text")
        field.help_text = question.tr("help_text")
        self.fields["answer"] = field
        self.initial["answer"] = initial

    def cleaned_answer(self) -> dict:
        value = self.cleaned_data.get("answer")
        kind = self.question.kind
        if self.question.is_choice:
            ids = value if kind == Question.Kind.MULTIPLE else ([value] if value else [])
            return {"choice_ids": [int(v) for v in ids]}
        if kind == Question.Kind.RATING:
            return {"rating": value}
        return {"text": value or ""}


def _whole_number(value: str) -> int:
    """A rating as sent: ASCII digits (an optional minus) or it is not on any scale."""
    text = str(value).strip()
    digits = text.removeprefix("-")
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 6):
        raise forms.ValidationError(_("Choose a value on the scale."))
    return int(text)
