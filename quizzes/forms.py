"""The plain forms of the visitor's run: one per question kind."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from core.forms import CleanForm
from quizzes.models import Answer, Question

NOT_AN_OPTION = "That answer is not one of this question's options."


def _at_most(limit: int):
    def check(value: str) -> None:
        if len(value) > limit:
            raise ValidationError(
                f"Keep the answer to {limit:,} characters or fewer (it has {len(value):,})."
            )

    return check


class StartForm(CleanForm):
    start_key = forms.UUIDField(widget=forms.HiddenInput)


class AnswerForm(CleanForm):
    """Built for one question; `cleaned_answer()` gives the service's arguments."""

    def __init__(self, *args, question: Question, answer: Answer | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.question = question
        required_message = {"required": "Please answer this question to continue."}
        kind = question.kind
        if question.is_choice:
            options = [(str(c.pk), c.label) for c in question.choices.all()]
            if kind == Question.Kind.MULTIPLE:
                field = forms.MultipleChoiceField(
                    choices=options,
                    required=question.required,
                    widget=forms.CheckboxSelectMultiple,
                    error_messages={**required_message, "invalid_choice": NOT_AN_OPTION},
                )
                initial = [str(c.pk) for c in answer.choices.all()] if answer else []
            else:
                field = forms.ChoiceField(
                    choices=options,
                    required=question.required,
                    widget=forms.RadioSelect,
                    error_messages={**required_message, "invalid_choice": NOT_AN_OPTION},
                )
                chosen = list(answer.choices.all()) if answer else []
                initial = str(chosen[0].pk) if chosen else None
        elif kind == Question.Kind.RATING:
            field = forms.TypedChoiceField(
                choices=[(str(v), str(v)) for v in question.rating_values()],
                coerce=int,
                empty_value=None,
                required=question.required,
                widget=forms.RadioSelect,
                error_messages={
                    **required_message,
                    "invalid_choice": (
                        f"Choose a value from {question.rating_min} to {question.rating_max}."
                    ),
                },
            )
            initial = str(answer.rating) if answer and answer.rating is not None else None
        else:
            max_length = Answer._meta.get_field("text").max_length
            field = forms.CharField(
                max_length=max_length,
                required=question.required,
                widget=forms.Textarea(
                    attrs={"rows": 3, "data-limit": max_length, "aria-describedby": "answer-limit"}
                ),
                error_messages=required_message,
            )
            # No maxlength attribute: the browser would cut a long answer without a word.
            # The counter under the box shows the limit; the server says when it is over,
            # with the numbers written as the counter writes them.
            field.widget.attrs.pop("maxlength", None)
            field.validators = [_at_most(max_length)]
            initial = answer.text if answer else ""
        field.label = question.text
        field.help_text = question.help_text
        self.text_limit = field.max_length if kind == Question.Kind.TEXT else None
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
