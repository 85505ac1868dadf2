"""The demo's brand and cover picture, drawn here so the repository carries no photo."""

from __future__ import annotations

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw

from quizzes.images import image_clean, image_store
from quizzes.models import Brand, Quiz

BRAND = {
    "name": "Quizfunnel demo",
    "background_colour": "#eef2f7",
    "card_colour": "#ffffff",
    "text_colour": "#172033",
    "primary_colour": "#0f766e",
    "button_text_colour": "#ffffff",
    "font": "inter",
    "corners": "rounded",
}


def _cover() -> bytes:
    """A dashboard-like picture: bars rising towards a target line, on a teal gradient."""
    width, height = 1600, 800
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    top, bottom = (15, 118, 110), (23, 37, 84)
    for y in range(height):
        t = y / (height - 1)
        draw.line(
            [(0, y), (width, y)],
            fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)),
        )
    bars = [0.32, 0.45, 0.41, 0.58, 0.66, 0.62, 0.78, 0.86]
    gap, base = 34, height - 120
    bar_width = (width - 240 - gap * (len(bars) - 1)) // len(bars)
    for i, share in enumerate(bars):
        x = 120 + i * (bar_width + gap)
        draw.rounded_rectangle(
            [x, base - share * (height - 260), x + bar_width, base],
            radius=18,
            fill=(255, 255, 255) if i == len(bars) - 1 else (153, 246, 228),
        )
    target = base - 0.8 * (height - 260)
    for x in range(120, width - 120, 40):
        draw.line([(x, target), (x + 22, target)], fill=(253, 230, 138), width=6)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def demo_look_apply(quiz: Quiz) -> None:
    """Give the demo its brand and cover (once; a second call changes nothing)."""
    brand, _ = Brand.objects.get_or_create(name=BRAND["name"], defaults=BRAND)
    quiz.brand = brand
    if not quiz.cover_image:
        cleaned = image_clean(SimpleUploadedFile("cover.png", _cover(), "image/png"))
        quiz.cover_image = image_store(cleaned)
        quiz.cover_alt = "A bar chart whose bars rise towards a dashed target line"
    quiz.save(update_fields=["brand", "cover_image", "cover_alt"])
