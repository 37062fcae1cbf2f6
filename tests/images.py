"""Tiny real images for upload tests."""

from __future__ import annotations

import io

from PIL import Image


def png_bytes(size: tuple[int, int] = (8, 6), colour: str = "navy") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()
