"""The visitor's scorecard outside the page: a PDF report (WeasyPrint) and the e-mail that
carries it. Both are made from the lead alone, as given: later edits of the quiz change
neither the score nor the answers in them."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from email.utils import formataddr, parseaddr
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.files.storage import default_storage
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from leads.blocks import lead_result_blocks
from leads.models import Lead
from leads.shown import shown_result
from quizzes.branding import FONTS, Look, ink_on
from quizzes.images import srcset
from quizzes.language import paper_for
from quizzes.models import Quiz
from quizzes.numbers import format_percent

SUBJECT_PLACEHOLDERS = ("quiz", "percent", "tier", "name")


@dataclass
class Scorecard:
    lead: Lead
    quiz_title: str
    percent: int
    points: int
    max_points: int
    tier: str
    tier_colour: str
    tier_ink: str
    headline: str
    advice: str
    cta_label: str
    cta_url: str
    categories: list[dict]
    weakest: dict | None
    strongest: dict | None
    next_steps: list[dict]
    answers: list[dict]
    result_url: str
    look: Look
    logo: str = ""  # a data: URI: the PDF carries its logo, nothing is fetched
    logo_url: str = ""  # the same logo by address, for e-mail (clients block data: URIs)
    logo_alt: str = ""
    font_faces: list[tuple[str, str, int]] = field(default_factory=list)
    # The result blocks whose conditions hold (leads.blocks), each with `href` and, for
    # the PDF and the e-mail, `picture_data` (a data: URI) and `picture_url` (by address).
    blocks: list = field(default_factory=list)


def _image_data_uri(image) -> str:
    """A stored picture's smallest width as a data: URI ("" when it cannot be read)."""
    if not image:
        return ""
    name = image.name
    small = name.replace(name[name.rfind("_w") :], "_w480.webp") if "_w" in name else name
    for candidate in (small, name):
        try:
            with default_storage.open(candidate) as f:
                data = f.read()
        except (OSError, ValueError):
            continue
        return "data:image/webp;base64," + base64.b64encode(data).decode()
    return ""


def _image_url(image) -> str:
    url = srcset(image.name, storage=image.storage)[0]
    return settings.SITE_URL + url if url.startswith("/") else url


def _logo_data_uri(quiz) -> tuple[str, str]:
    brand = quiz.brand if quiz.brand_id else None
    if brand is None or not brand.logo:
        return "", ""
    uri = _image_data_uri(brand.logo)
    return (uri, brand.logo_alt) if uri else ("", "")


def _report_blocks(lead: Lead) -> list:
    shown = lead_result_blocks(lead)
    for block in shown:
        block.picture_data = _image_data_uri(block.image)
        block.picture_url = _image_url(block.image) if block.picture_data else ""
    return shown


def _static_uri(name: str) -> str:
    path = finders.find(name)
    return Path(path).as_uri() if path else ""


def _font_faces(look: Look) -> list[tuple[str, str, int]]:
    """(family, file URL, weight) of the brand's bundled font, embedded in the PDF."""
    if look.font == "system" or look.font not in FONTS:
        return []
    family = FONTS[look.font][1].split(",")[0].strip('"')
    faces = []
    for weight in (400, 700):
        uri = _static_uri(f"fonts/{look.font}/{look.font}-latin-{weight}-normal.woff2")
        if uri:
            faces.append((family, uri, weight))
    return faces


def lead_language(lead: Lead) -> str:
    """The language of the lead's run (chosen at its start), else the quiz's."""
    codes = dict(settings.LANGUAGES)
    for code in (getattr(lead.attempt, "language", ""), lead.quiz.language):
        if code in codes:
            return code
    return settings.LANGUAGE_CODE


def scorecard_for(lead: Lead, language: str | None = None) -> Scorecard:
    """The scorecard in the visitor's language (see leads.shown)."""
    quiz = lead.quiz
    shown = shown_result(lead, language or lead_language(lead))
    categories = shown.category_scores
    look = quiz.look
    logo, logo_alt = _logo_data_uri(quiz)
    logo_url = ""
    if logo:
        logo_url = _image_url(quiz.brand.logo)
    path = reverse("leads:result", kwargs={"slug": quiz.slug, "token": lead.attempt.token})
    return Scorecard(
        lead=lead,
        quiz_title=quiz.tr("title", shown.language),
        percent=lead.score_percent,
        points=lead.score_points,
        max_points=lead.score_max,
        tier=shown.tier_name,
        tier_colour=lead.tier_colour or "#64748b",
        tier_ink=ink_on(lead.tier_colour or "#64748b"),
        headline=shown.headline,
        advice=shown.body,
        cta_label=(shown.cta_label or pgettext("button", "Book a call")) if shown.cta_href else "",
        cta_url=shown.cta_href,
        categories=categories,
        weakest=shown.weakest_category,
        strongest=shown.strongest_category,
        next_steps=shown.next_steps,
        answers=shown.answers,
        result_url=f"{settings.SITE_URL}{path}",
        look=look,
        logo=logo,
        logo_url=logo_url,
        logo_alt=logo_alt,
        font_faces=_font_faces(look),
        blocks=_report_blocks(lead),
    )


def scorecard_pdf(lead: Lead, *, paper: str | None = None) -> bytes:
    """The scorecard as a PDF in the run's language: A4, or US Letter when `paper`, the
    setting or (SCORECARD_PAPER=auto) the visitor's region says so (paper_for)."""
    with translation.override(lead_language(lead)):
        return _scorecard_pdf(lead, paper=paper)


def _scorecard_pdf(lead: Lead, *, paper: str | None = None) -> bytes:
    from weasyprint import HTML  # loads Pango: only where a PDF is made

    card = scorecard_for(lead)
    size = (paper or paper_for(lead.attempt)).upper()
    html = render_to_string(
        "leads/scorecard_pdf.html",
        {
            "card": card,
            "page_size": "letter" if size == "LETTER" else "A4",
            "language": translation.get_language(),
            # Emoji in answers render from a bundled font, never as empty boxes.
            "emoji_css": _static_uri("fonts/noto-emoji/noto-emoji.css"),
        },
    )
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()


def scorecard_filename(lead: Lead) -> str:
    return f"scorecard-{lead.quiz.slug}.pdf"


def scorecard_subject(lead: Lead) -> str:
    language = lead_language(lead)
    shown = shown_result(lead, language)
    values = {
        "quiz": lead.quiz.tr("title", shown.language),
        "percent": lead.score_percent,
        "tier": shown.tier_name,
        "name": lead.name or pgettext("subject, no name given", "you"),
    }
    subject = lead.quiz.tr("scorecard_subject", shown.language)
    # Empty or left at the product's default: the product's words, in the run's language.
    if subject in ("", Quiz._meta.get_field("scorecard_subject").default):
        with translation.override(shown.language):
            subject = _("Your result: %(percent)s (%(tier)s) on %(quiz)s") % {
                **values,
                "percent": format_percent(lead.score_percent),
            }
        return subject[:250]
    try:
        return subject.format(**values)[:250]
    except (KeyError, IndexError, ValueError):  # a subject saved around the form's check
        return _("Your %(quiz)s scorecard: %(percent)s") % {
            "quiz": values["quiz"],
            "percent": format_percent(lead.score_percent),
        }


def scorecard_sender(quiz) -> str:
    name, address = parseaddr(quiz.scorecard_from or "")
    if "@" not in address:
        return settings.DEFAULT_FROM_EMAIL
    return formataddr((name, address)) if name else address


def scorecard_message(lead: Lead, *, message_id: str) -> EmailMultiAlternatives:
    """The e-mail in the run's language: a plain-text part, an HTML part (tables, inline
    styles) and the PDF."""
    with translation.override(lead_language(lead)):
        return _scorecard_message(lead, message_id=message_id)


def _scorecard_message(lead: Lead, *, message_id: str) -> EmailMultiAlternatives:
    card = scorecard_for(lead)
    context = {"card": card}
    message = EmailMultiAlternatives(
        subject=scorecard_subject(lead),
        body=render_to_string("leads/scorecard_email.txt", context),
        from_email=scorecard_sender(lead.quiz),
        to=[lead.email],
        reply_to=[lead.quiz.scorecard_reply_to] if lead.quiz.scorecard_reply_to else None,
        headers={"Message-ID": message_id},
    )
    message.attach_alternative(render_to_string("leads/scorecard_email.html", context), "text/html")
    message.attach(scorecard_filename(lead), scorecard_pdf(lead), "application/pdf")
    return message


def scorecard_card_png(lead: Lead) -> bytes:
    """The share preview (Open Graph, 1200 × 630): quiz, score, tier and a bar per category.
    Drawn with the bundled Inter, so it looks the same on every server."""
    from PIL import Image, ImageDraw, ImageFont

    look = lead.quiz.look
    width, height = 1200, 630
    image = Image.new("RGB", (width, height), look.card)
    draw = ImageDraw.Draw(image)

    def font(weight: int, size: int):
        return ImageFont.truetype(
            finders.find(f"fonts/inter/inter-latin-{weight}-normal.woff2"), size
        )

    def fitted(text: str, weight: int, size: int, room: int):
        while size > 18 and draw.textlength(text, font=font(weight, size)) > room:
            size -= 2
        return font(weight, size)

    draw.rectangle([0, 0, width, 14], fill=look.primary)
    shown = shown_result(lead, lead_language(lead))
    title = lead.quiz.tr("title", shown.language)
    draw.text((64, 56), title, fill=look.text, font=fitted(title, 700, 44, width - 128))
    draw.text((64, 130), format_percent(lead.score_percent), fill=look.primary, font=font(700, 150))
    badge_font = font(700, 36)
    badge = shown.tier_name
    badge_width = draw.textlength(badge, font=badge_font) + 48
    draw.rounded_rectangle(
        [64, 320, 64 + badge_width, 378], radius=29, fill=lead.tier_colour or "#64748b"
    )
    draw.text((88, 327), badge, fill=ink_on(lead.tier_colour or "#64748b"), font=badge_font)
    label_font, top = font(400, 28), 150
    for category in shown.category_scores[:5]:
        x = 640
        draw.text(
            (x, top), category["name"], fill=look.text, font=fitted(category["name"], 400, 28, 380)
        )
        draw.text(
            (width - 64, top),
            format_percent(category["percent"]),
            fill=look.text,
            font=label_font,
            anchor="ra",
        )
        draw.rounded_rectangle([x, top + 42, width - 64, top + 58], radius=8, fill="#e5e7eb")
        filled = x + (width - 64 - x) * category["percent"] / 100
        if category["percent"]:
            draw.rounded_rectangle(
                [x, top + 42, max(x + 16, filled), top + 58], radius=8, fill=look.primary
            )
        top += 90
    draw.text(
        (64, height - 84),
        _("Take the quiz and get your own score"),
        fill=look.muted,
        font=font(400, 30),
    )
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()
