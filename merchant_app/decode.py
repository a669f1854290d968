"""Find a QR code in a camera frame, for browsers that have no ``BarcodeDetector``.

Frames come from the cashier's camera a few times a second, so the work per frame is
bounded: a size cap on the upload, a pixel cap before decoding, and a cap on how many
frames one process decodes at once (the rest are told to try the next frame).
"""

from __future__ import annotations

import io
import threading

import zxingcpp
from PIL import Image, UnidentifiedImageError

MAX_UPLOAD_BYTES = 1_500_000
# A phone frame downscaled by the page is ~640x480; 12 MP covers an undownscaled photo.
MAX_PIXELS = 12_000_000
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif", "image/bmp"})
_slots = threading.BoundedSemaphore(4)


class NotAnImage(ValueError):
    """The bytes are not a picture we can read."""


class Busy(RuntimeError):
    """Every decoding slot is taken; the next frame will do."""


def decode_qr(data: bytes) -> str | None:
    """The text of the first QR code in the picture, or None when there is none."""
    if not _slots.acquire(blocking=False):
        raise Busy
    try:
        try:
            with Image.open(io.BytesIO(data)) as probe:
                width, height = probe.size
                if width * height > MAX_PIXELS:
                    raise NotAnImage("picture too large")
                picture = probe.convert("L")
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
            raise NotAnImage(str(error)) from error
        for result in zxingcpp.read_barcodes(picture, formats=zxingcpp.BarcodeFormat.QRCode):
            if result.valid and result.text:
                return result.text
        return None
    finally:
        _slots.release()
