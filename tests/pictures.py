"""Real picture files, made with Pillow, for upload tests."""

from __future__ import annotations

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

GPS_LATITUDE = 2  # EXIF GPS IFD tags
EXIF_GPS_IFD = 0x8825
EXIF_ORIENTATION = 0x0112
EXIF_MAKE = 0x010F


def picture_bytes(
    size=(1200, 800),
    *,
    kind="JPEG",
    colour=(200, 60, 40),
    gps=False,
    orientation=None,
    mode="RGB",
) -> bytes:
    """A picture with a coloured left half (so turning it shows), optionally with EXIF."""
    image = Image.new(mode, size, (240, 240, 240) if mode == "RGB" else (240, 240, 240, 255))
    image.paste(colour if mode == "RGB" else (*colour, 255), (0, 0, size[0] // 2, size[1]))
    exif = Image.Exif()
    if gps:
        exif[EXIF_MAKE] = "SecretCam"
        exif.get_ifd(EXIF_GPS_IFD)[GPS_LATITUDE] = (52.0, 31.0, 12.0)
    if orientation:
        exif[EXIF_ORIENTATION] = orientation
    out = io.BytesIO()
    options = {"exif": exif.tobytes()} if (gps or orientation) else {}
    image.save(out, kind, **options)
    return out.getvalue()


def upload(data: bytes, name="photo.jpg", content_type="image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)
