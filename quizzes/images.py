"""Pictures in a quiz: checked, cleaned and resized once, when they are uploaded.

An upload is accepted only when its content is a JPEG, PNG, WebP or GIF picture whose file
name agrees with it, within a size and a pixel limit. It is then decoded, turned upright
(EXIF orientation), converted to sRGB and encoded again as WebP without any metadata: EXIF
(camera, GPS position, time), XMP and comments never reach a visitor. SVG is refused, since
it is a document that can carry scripts, not a picture.

Each picture is kept at a few widths. The widths are in the stored names
(`quiz-images/<digest>_w960.webp`), so the `srcset` of a picture is known from its name,
without asking the storage (an S3 bucket) what is there.
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import models
from django.template.defaultfilters import filesizeformat
from PIL import Image, ImageCms, ImageFile, ImageOps, UnidentifiedImageError

# Widths kept for srcset; a picture is never enlarged, so a narrow one keeps fewer.
WIDTHS = (480, 960, 1600)
MIN_SIDE = 64
UPLOAD_TO = "quiz-images"
ACCEPTED = {
    "JPEG": (".jpg", ".jpeg", ".jfif"),
    "PNG": (".png",),
    "WEBP": (".webp",),
    "GIF": (".gif",),
}
_NAME = re.compile(r"^(?P<stem>.+)_w(?P<width>\d{1,5})\.webp$")


@dataclass(frozen=True)
class Cleaned:
    """A checked picture, encoded again at each of its widths (the widest first)."""

    width: int
    height: int
    digest: str
    files: dict[int, bytes]

    def name(self, width: int | None = None) -> str:
        return f"{UPLOAD_TO}/{self.digest}_w{width or self.width}.webp"


def _looks_like_svg(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text.startswith((b"<?xml", b"<svg", b"<!doctype svg")) or b"<svg" in text[:1024]


def image_clean(upload) -> Cleaned:
    """The picture in `upload`, cleaned; a ValidationError in words when it is not one."""
    limit = settings.QUIZ_IMAGE_MAX_BYTES
    name = str(getattr(upload, "name", "") or "")
    extension = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    if upload.size is not None and upload.size > limit:
        raise ValidationError(
            f"This file is {filesizeformat(upload.size)}; pictures can be up to "
            f"{filesizeformat(limit)}. Save it smaller (a width of 1600 pixels is plenty)."
        )
    upload.seek(0)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise ValidationError(f"Pictures can be up to {filesizeformat(limit)}.")
    if extension == ".svg" or _looks_like_svg(data[:2048]):
        raise ValidationError(
            "SVG files are not accepted, because they can carry scripts. "
            "Upload the picture as PNG, JPEG or WebP."
        )
    # WeasyPrint (the PDF report) switches Pillow's process-wide LOAD_TRUNCATED_IMAGES on; a
    # cut-short upload must still be refused here, so it is off while this picture decodes.
    truncated_ok, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            picture = Image.open(io.BytesIO(data))
            kind = picture.format
            if picture.width * picture.height > settings.QUIZ_IMAGE_MAX_PIXELS:
                raise ValidationError(
                    f"This picture is {picture.width} × {picture.height} pixels, more than "
                    f"{settings.QUIZ_IMAGE_MAX_PIXELS:,} pixels in all. Make it smaller."
                )
            picture.load()
    except ValidationError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationError(
            "This file is not a picture we can read. Upload a PNG, JPEG, WebP or GIF."
        ) from None
    except (OSError, ValueError, SyntaxError, EOFError):
        raise ValidationError(
            "This picture is damaged or cut short: save it again and retry."
        ) from None
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = truncated_ok
    if kind not in ACCEPTED:
        raise ValidationError(
            f"This is a {kind} file; upload the picture as PNG, JPEG, WebP or GIF."
        )
    if extension and extension not in ACCEPTED[kind]:
        raise ValidationError(
            f"This file is called “…{extension}” but holds a {kind} picture. "
            f"Rename it to {ACCEPTED[kind][0]} or save it again as {extension[1:].upper()}."
        )
    if min(picture.width, picture.height) < MIN_SIDE:
        raise ValidationError(
            f"This picture is {picture.width} × {picture.height} pixels; "
            f"each side needs at least {MIN_SIDE} pixels."
        )
    picture = _upright_srgb(picture)
    digest = hashlib.sha256(data).hexdigest()[:20]
    widths = [w for w in WIDTHS if w < picture.width] + [min(picture.width, WIDTHS[-1])]
    files: dict[int, bytes] = {}
    for width in sorted(set(widths), reverse=True):
        height = max(1, round(picture.height * width / picture.width))
        copy = picture if width == picture.width else picture.resize((width, height), Image.LANCZOS)
        out = io.BytesIO()
        # No exif=, icc_profile= or xmp=: the encoded file carries the pixels and nothing else.
        copy.save(out, "WEBP", quality=82, method=4)
        files[width] = out.getvalue()
    top = max(files)
    return Cleaned(
        width=top,
        height=max(1, round(picture.height * top / picture.width)),
        digest=digest,
        files=files,
    )


def _upright_srgb(picture: Image.Image) -> Image.Image:
    """Pixels only: turned as the camera meant, in sRGB, RGB or RGBA."""
    picture = ImageOps.exif_transpose(picture)
    profile = picture.info.get("icc_profile")
    has_alpha = picture.mode in ("RGBA", "LA", "PA") or (
        picture.mode == "P" and "transparency" in picture.info
    )
    picture = picture.convert("RGBA" if has_alpha else "RGB")
    if profile:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            picture = ImageCms.profileToProfile(
                picture, source, ImageCms.createProfile("sRGB"), outputMode=picture.mode
            )
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # an unreadable profile: keep the pixels as they are
    picture.info.clear()
    return picture


def image_store(cleaned: Cleaned, *, storage=None) -> str:
    """Save every width of the picture; the name of the widest, which the model keeps."""
    storage = storage or default_storage
    for width, data in cleaned.files.items():
        name = cleaned.name(width)
        if not storage.exists(name):
            storage.save(name, ContentFile(data))
    return cleaned.name()


def srcset(name: str, *, storage=None) -> tuple[str, str]:
    """(src, srcset) for a stored picture's name; the smallest width that is kept is the src."""
    storage = storage or default_storage
    match = _NAME.match(name or "")
    if not match:
        url = storage.url(name) if name else ""
        return url, ""
    top = int(match["width"])
    widths = [w for w in WIDTHS if w < top] + [top]
    stem = match["stem"]
    entries = [f"{storage.url(f'{stem}_w{w}.webp')} {w}w" for w in widths]
    return entries[0].rsplit(" ", 1)[0], ", ".join(entries)


class PictureInput(forms.ClearableFileInput):
    """The file input with a thumbnail of the picture it holds."""

    template_name = "quizzes/widgets/picture_input.html"

    def __init__(self, attrs=None):
        super().__init__({"accept": "image/png,image/jpeg,image/webp,image/gif", **(attrs or {})})

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        if self.is_initial(value):
            context["widget"]["thumbnail"] = srcset(value.name, storage=value.storage)[0]
        return context


class ImageUploadField(forms.FileField):
    """A form field that accepts a picture and hands back its cleaned widths (`Cleaned`)."""

    widget = PictureInput

    def to_python(self, data):
        upload = super().to_python(data)
        if upload is None:
            return None
        cleaned = image_clean(upload)
        file = ContentFile(cleaned.files[cleaned.width], name=cleaned.name().rsplit("/", 1)[-1])
        file.cleaned_image = cleaned
        return file


class QuizImageField(models.ImageField):
    """A picture kept at several widths; the column holds the widest one's name.

    The model form's field cleans the upload (`ImageUploadField`); saving stores every width
    under names derived from its content, so the same picture uploaded twice is stored once.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("upload_to", UPLOAD_TO)
        kwargs.setdefault("max_length", 200)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        kwargs.pop("upload_to", None)
        if kwargs.get("max_length") == 200:
            kwargs.pop("max_length")
        if kwargs.get("blank") is True:
            kwargs.pop("blank")
        return name, "quizzes.images.QuizImageField", args, kwargs

    def formfield(self, **kwargs):
        kwargs["form_class"] = ImageUploadField
        kwargs["widget"] = PictureInput  # also in admin, which would pick its file widget
        return super().formfield(**kwargs)

    def pre_save(self, model_instance, add):
        file = getattr(model_instance, self.attname)
        cleaned = getattr(getattr(file, "_file", None), "cleaned_image", None)
        if file and not file._committed and cleaned is not None:
            name = image_store(cleaned, storage=self.storage)
            setattr(model_instance, self.attname, name)
            return getattr(model_instance, self.attname)
        return super().pre_save(model_instance, add)

    def update_dimension_fields(self, instance, force=False, *args, **kwargs):
        """Widths are in the names: nothing to read back from the storage."""
