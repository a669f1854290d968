"""POST /app/decode-qr: read a QR code from one camera frame.

Chromium on Linux has no BarcodeDetector, so the scan page posts a downscaled JPEG of
the camera picture a few times a second until one decodes. The endpoint takes the raw
image as the request body from a signed-in shopper, refuses anything but a small
JPEG/PNG/WebP, and decodes in a worker thread so a frame never blocks the event loop.
"""

from __future__ import annotations

import io

import zxingcpp
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from PIL import Image, UnidentifiedImageError

from web_common import require_sign_in

router = APIRouter(prefix="/app", include_in_schema=False)

MAX_UPLOAD_BYTES = 1_500_000
# A phone frame downscaled to 640-1280 px is well under this; anything bigger is not a
# camera frame and would cost seconds of CPU (or be a decompression bomb).
MAX_PIXELS = 4096 * 4096
# Decoding works as well and much faster on a frame no wider than this.
DECODE_EDGE = 1600
ALLOWED_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}


def _problem(status: int, code: str, title: str) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status, "code": code},
        status_code=status,
        media_type="application/problem+json",
    )


class _TooLarge(Exception):
    pass


def decode_image(data: bytes, expected_format: str) -> str | None:
    """The text of the first QR code in the image, or None when there is none."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != expected_format:
                return None
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise _TooLarge
            picture = image.convert("L")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
    if max(picture.size) > DECODE_EDGE:
        picture.thumbnail((DECODE_EDGE, DECODE_EDGE))
    results = zxingcpp.read_barcodes(picture, formats=zxingcpp.BarcodeFormat.QRCode)
    for result in results:
        if result.valid and result.text:
            return result.text
    return None


# Only a signed-in shopper scans claim codes, so only one may spend our CPU on frames.
SHOPPER = require_sign_in("shopper")


@router.post("/decode-qr", dependencies=[Depends(SHOPPER)])
async def decode_qr(request: Request) -> JSONResponse:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    expected_format = ALLOWED_TYPES.get(content_type)
    if expected_format is None:
        return _problem(415, "unsupported_media_type", "Send a JPEG, PNG or WebP image")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES:
        return _problem(413, "image_too_large", "The image is larger than 1.5 MB")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_UPLOAD_BYTES:
            return _problem(413, "image_too_large", "The image is larger than 1.5 MB")
    try:
        text = await run_in_threadpool(decode_image, bytes(body), expected_format)
    except _TooLarge:
        return _problem(413, "image_too_large", "The image has too many pixels")
    if text is None:
        return _problem(422, "no_code_found", "No QR code found in the image")
    return JSONResponse({"text": text}, headers={"Cache-Control": "no-store"})
