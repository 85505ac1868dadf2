"""Pictures: checked by their content, cleaned of metadata, kept at a few widths, served with
srcset and their text for people who cannot see them."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import Image

from quizzes.images import image_clean, image_store
from quizzes.models import Quiz
from quizzes.services import quiz_problems
from tests.pictures import EXIF_GPS_IFD, picture_bytes, upload
from tests.visitor import answer, question, start, step_url

pytestmark = pytest.mark.django_db


def stored(name: str) -> Image.Image:
    with default_storage.open(name) as f:
        image = Image.open(io.BytesIO(f.read()))
        image.load()
        return image


def test_a_photo_loses_its_gps_position_and_camera_and_is_kept_at_three_widths():
    data = picture_bytes((2400, 1600), gps=True)
    assert b"SecretCam" in data  # the upload does carry them

    name = image_store(image_clean(upload(data)))

    assert re.fullmatch(r"quiz-images/[0-9a-f]{20}_w1600\.webp", name)
    widths = {}
    for width in (1600, 960, 480):
        image = stored(name.replace("_w1600", f"_w{width}"))
        widths[width] = image.size
        assert image.format == "WEBP"
        assert not image.getexif(), "EXIF survived"
        assert not image.getexif().get_ifd(EXIF_GPS_IFD)
        assert "exif" not in image.info and "xmp" not in image.info
    assert widths == {1600: (1600, 1067), 960: (960, 640), 480: (480, 320)}
    with default_storage.open(name) as f:
        assert b"SecretCam" not in f.read()


def test_a_small_picture_is_never_enlarged():
    cleaned = image_clean(upload(picture_bytes((600, 400), kind="PNG"), "logo.png", "image/png"))
    assert sorted(cleaned.files) == [480, 600]
    assert cleaned.name().endswith("_w600.webp")


def test_a_sideways_phone_photo_is_turned_upright():
    # Orientation 6: the camera was turned; the pixels are stored sideways.
    cleaned = image_clean(upload(picture_bytes((1200, 800), orientation=6)))
    assert (cleaned.width, cleaned.height) == (800, 1200)


def test_the_same_picture_uploaded_twice_is_stored_once():
    data = picture_bytes((700, 500))
    first = image_store(image_clean(upload(data)))
    second = image_store(image_clean(upload(data, "again.jpg")))
    assert first == second
    folder = Path(default_storage.path("quiz-images"))
    assert len([p for p in folder.iterdir() if p.name.startswith(Path(first).name[:20])]) == 2


SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
)


@pytest.mark.parametrize(
    ("data", "name", "words"),
    [
        (SVG, "logo.svg", "SVG files are not accepted"),
        (SVG, "innocent.png", "SVG files are not accepted"),
        (b"%PDF-1.7 not a picture at all", "cv.jpg", "not a picture we can read"),
        (b"MZ\x90\x00" + b"\x00" * 500, "setup.png", "not a picture we can read"),
        (picture_bytes((400, 300), kind="PNG"), "photo.jpg", "called “….jpg” but holds a PNG"),
        (picture_bytes((400, 300))[:900], "cut.jpg", "damaged or cut short"),
        (picture_bytes((40, 400)), "thin.jpg", "each side needs at least 64 pixels"),
        (picture_bytes((400, 300), kind="BMP"), "old.bmp", "This is a BMP file"),
    ],
    ids=["svg", "svg-named-png", "pdf", "exe", "wrong-extension", "truncated", "tiny", "bmp"],
)
def test_a_file_that_is_not_an_acceptable_picture_is_refused_in_words(data, name, words):
    with pytest.raises(ValidationError) as refused:
        image_clean(upload(data, name))
    assert words in " ".join(refused.value.messages)


def test_too_large_files_and_pixel_bombs_are_refused_before_decoding(settings):
    settings.QUIZ_IMAGE_MAX_BYTES = 10_000
    with pytest.raises(ValidationError, match="pictures can be up to"):
        image_clean(upload(picture_bytes((1600, 1200)) + b"\x00" * 20_000))
    settings.QUIZ_IMAGE_MAX_BYTES = 8 * 1024 * 1024
    settings.QUIZ_IMAGE_MAX_PIXELS = 1_000_000
    # 4000 × 4000 of one colour: a few KB on disk, 48 MB once decoded.
    with pytest.raises(ValidationError, match="more than 1,000,000 pixels"):
        image_clean(upload(picture_bytes((4000, 4000), kind="PNG"), "bomb.png"))


def _quiz_post(**extra) -> dict:
    data = {
        "title": "With a cover",
        "slug": "with-a-cover",
        "description": "",
        "start_label": "Go",
        "lead_form_position": "after",
        "lead_form_title": "Your details",
        "ask_name": "optional",
        "ask_company": "optional",
        "ask_phone": "off",
        "consent_text": "",
        "scorecard_subject": "Your {quiz} scorecard",
        "tiers-TOTAL_FORMS": "1",
        "tiers-INITIAL_FORMS": "0",
        "tiers-0-name": "All",
        "tiers-0-min_percent": "0",
        "tiers-0-max_percent": "100",
        "tiers-0-colour": "#123456",
        "categories-TOTAL_FORMS": "0",
        "categories-INITIAL_FORMS": "0",
        "hidden_fields-TOTAL_FORMS": "0",
        "hidden_fields-INITIAL_FORMS": "0",
        "result_blocks-TOTAL_FORMS": "0",
        "result_blocks-INITIAL_FORMS": "0",
        "questions-TOTAL_FORMS": "1",
        "questions-INITIAL_FORMS": "0",
        "questions-0-order": "1",
        "questions-0-kind": "yes_no",
        "questions-0-required": "on",
        "questions-0-text": "Ready?",
        "questions-0-rating_min": "0",
        "questions-0-rating_max": "10",
        "questions-0-rating_points_per_step": "1",
        "questions-0-choices-TOTAL_FORMS": "0",
        "questions-0-choices-INITIAL_FORMS": "0",
    }
    return data | extra


def test_the_builder_uploads_a_cover_that_the_intro_shows_responsive(admin_client, client):
    data = _quiz_post(
        cover_image=upload(picture_bytes((2000, 1000), gps=True), "cover.jpg"),
        cover_alt="A team around a whiteboard",
    )
    response = admin_client.post(reverse("admin:quizzes_quiz_add"), data)
    assert response.status_code == 302, response.content.decode()[-2000:]
    quiz = Quiz.objects.get(slug="with-a-cover")
    assert quiz_problems(quiz=quiz) == []
    quiz.status = Quiz.Status.PUBLISHED
    quiz.save()

    page = client.get(quiz.get_absolute_url()).content.decode()
    img = re.search(r'<figure class="cover"><img ([^>]*)>', page)
    assert img, page
    assert 'alt="A team around a whiteboard"' in img[1]
    candidates = re.search(r'srcset="([^"]*)"', img[1])[1].split(", ")
    assert [c.rsplit(" ", 1)[1] for c in candidates] == ["480w", "960w", "1600w"]
    picture = client.get(candidates[1].split(" ")[0])
    assert picture.status_code == 200
    assert picture["Content-Type"] == "image/webp"
    assert "immutable" in picture["Cache-Control"]
    body = b"".join(picture.streaming_content)
    assert Image.open(io.BytesIO(body)).size == (960, 480)


def test_a_picture_without_its_text_is_refused_and_nothing_is_stored(admin_client):
    data = _quiz_post(cover_image=upload(picture_bytes((800, 600)), "cover.jpg"), cover_alt="")
    response = admin_client.post(reverse("admin:quizzes_quiz_add"), data)
    assert response.status_code == 200
    assert "people who cannot see it hear this text" in response.content.decode()
    assert not Quiz.objects.filter(slug="with-a-cover").exists()
    assert not Path(default_storage.path("quiz-images")).exists() or not any(
        Path(default_storage.path("quiz-images")).iterdir()
    )


def test_a_hostile_upload_in_the_builder_is_an_error_on_the_page_and_writes_nothing(admin_client):
    data = _quiz_post(cover_image=upload(SVG, "cover.png", "image/png"), cover_alt="Logo")
    response = admin_client.post(reverse("admin:quizzes_quiz_add"), data)
    assert response.status_code == 200
    assert "SVG files are not accepted" in response.content.decode()
    assert not Quiz.objects.exists()


def test_publishing_names_each_picture_that_has_no_text(scorecard):
    name = image_store(image_clean(upload(picture_bytes((800, 600)))))
    q2 = question(scorecard, "How do you tag links?")
    q2.image = name
    q2.save()
    choice = q2.choices.get(label="Always")
    choice.image = name
    choice.save()
    assert quiz_problems(quiz=scorecard) == [
        "Describe the picture of question 2 (its text for people who cannot see it).",
        "Describe the picture of choice “Always” of question 2 "
        "(its text for people who cannot see it).",
    ]


def test_choices_with_pictures_show_as_tiles_and_a_question_its_picture(client, scorecard):
    name = image_store(image_clean(upload(picture_bytes((900, 600)))))
    q2 = question(scorecard, "How do you tag links?")
    q2.image, q2.image_alt = name, "A link with UTM tags"
    q2.save()
    for choice in q2.choices.all():
        choice.image, choice.image_alt = name, f"{choice.label} tagging"
        choice.save()
    attempt = start(client, scorecard)
    answer(client, attempt, "Do you advertise?", "Yes")

    page = client.get(step_url(attempt, q2)).content.decode()

    assert '<div class="options tiles">' in page
    assert 'alt="A link with UTM tags"' in page
    for label in ("Never", "Sometimes", "Always"):
        assert f'alt="{label} tagging"' in page
    # Still one radio per choice: the form works the same with or without pictures.
    assert page.count('type="radio"') == 3


def test_an_unreadable_media_path_is_a_404_not_a_500(client):
    assert client.get("/media/quiz-images/nope_w480.webp").status_code == 404
    assert client.get("/media/../config/settings.py").status_code == 404


def test_the_builder_shows_a_thumbnail_of_the_picture_a_quiz_has(admin_client, scorecard):
    scorecard.cover_image = image_store(image_clean(upload(picture_bytes((800, 600)))))
    scorecard.cover_alt = "Cover"
    scorecard.save()
    page = admin_client.get(reverse("admin:quizzes_quiz_change", args=[scorecard.pk]))
    thumbnail = scorecard.cover_image.name.replace("_w800", "_w480")
    assert f'<img src="/media/{thumbnail}" alt=""' in page.content.decode()
