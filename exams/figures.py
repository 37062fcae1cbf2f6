"""Figure uploads: raster images only, checked by decoding them, bounded in size.

SVG is refused on purpose: an uploaded SVG served from the site's origin can carry script.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from PIL import Image, UnidentifiedImageError

ALLOWED_FORMATS = {"PNG": "png", "JPEG": "jpg", "GIF": "gif", "WEBP": "webp"}


def validate_figure(upload: File) -> None:
    size = upload.size or 0
    if size > settings.FIGURE_MAX_BYTES:
        raise ValidationError(
            f"The figure is {size / 1_048_576:.1f} MB; the limit is {settings.FIGURE_MAX_BYTES / 1_048_576:.1f} MB."
        )
    position = upload.tell() if hasattr(upload, "tell") else 0
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            fmt = image.format or ""
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ValidationError("The figure is not a readable PNG, JPEG, GIF or WebP image.") from None
    finally:
        upload.seek(position)
    if fmt not in ALLOWED_FORMATS:
        raise ValidationError(f"Figures must be PNG, JPEG, GIF or WebP; this one is {fmt or 'unknown'}.")
