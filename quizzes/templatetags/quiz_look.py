"""A quiz's look on its visitor pages: `{% quiz_look quiz %}` in the head, `{% picture %}`."""

from __future__ import annotations

from django import template
from django.templatetags.static import static
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from quizzes.branding import FONTS, ink_on
from quizzes.images import srcset

register = template.Library()


@register.simple_tag
def quiz_look(quiz) -> str:
    """A <style> with the quiz's colours, font and corners (values are validated hex
    colours and names from fixed lists, so they are safe inside CSS)."""
    if quiz is None or not getattr(quiz, "brand_id", None):
        return ""
    look = quiz.look
    faces = ""
    if look.font in FONTS and look.font != "system":
        family = FONTS[look.font][1].split(",")[0].strip('"')
        faces = format_html_join(
            "",
            '@font-face{{font-family:"{}";src:url("{}") format("woff2");font-weight:{};'
            "font-display:swap}}",
            (
                (family, static(f"fonts/{look.font}/{look.font}-latin-{w}-normal.woff2"), w)
                for w in (400, 700)
            ),
        )
    variables = ";".join(f"{k}:{v}" for k, v in look.css_variables().items())
    return format_html("<style>{}:root{{{}}}</style>", faces, mark_safe(variables))


@register.simple_tag
def picture(
    file,
    alt: str,
    sizes: str = "(min-width: 40rem) 38rem, 100vw",
    css_class: str = "",
    eager: bool = False,
) -> str:
    """A responsive <img>: the smallest kept width as src, every width in srcset. Pictures
    at the top of a page load at once (`eager`); the rest when they come near the screen."""
    if not file:
        return ""
    src, candidates = srcset(file.name, storage=file.storage)
    return format_html(
        '<img src="{}"{} sizes="{}" alt="{}" class="{}" loading="{}" decoding="async">',
        src,
        format_html(' srcset="{}"', candidates) if candidates else "",
        sizes,
        alt,
        css_class,
        "eager" if eager else "lazy",
    )


register.filter("ink_on", ink_on)


@register.filter
def picture_for(pictures: dict, value) -> object:
    """The choice whose picture goes with a radio or checkbox of the answer's field."""
    return pictures.get(str(value)) if pictures else None
