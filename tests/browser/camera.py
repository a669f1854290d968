"""Fake-camera videos and QR decoding for the browser tests.

Chromium's ``--use-file-for-fake-video-capture`` plays a Y4M (YUV4MPEG2) file in a loop
as the camera. We write that file ourselves from a QR image: Pillow's YCbCr conversion
is full-range BT.601, which is exactly what the ``C420jpeg`` colour space means, with
the chroma planes averaged down to half size in both directions (4:2:0).
"""

from __future__ import annotations

import io
from pathlib import Path

import segno
import zxingcpp
from PIL import Image


def qr_image(text: str, *, size: int = 360) -> Image.Image:
    """The QR code of ``text`` as a white-bordered greyscale image about ``size`` px wide."""
    buffer = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buffer, kind="png", scale=1, border=4)
    code = Image.open(io.BytesIO(buffer.getvalue())).convert("L")
    modules = code.width
    scale = max(1, size // modules)
    return code.resize((modules * scale, modules * scale), Image.Resampling.NEAREST)


def camera_frame(text: str, *, width: int = 640, height: int = 480) -> Image.Image:
    """A camera picture: the QR of ``text`` large and centred on white."""
    frame = Image.new("RGB", (width, height), "white")
    code = qr_image(text, size=int(min(width, height) * 0.8)).convert("RGB")
    frame.paste(code, ((width - code.width) // 2, (height - code.height) // 2))
    return frame


def write_y4m(path: Path, frames: list[Image.Image], *, fps: int = 10) -> Path:
    """Write ``frames`` (same size, even width and height) as a 4:2:0 Y4M video."""
    if not frames:
        raise ValueError("a video needs at least one frame")
    width, height = frames[0].size
    if width % 2 or height % 2:
        raise ValueError("4:2:0 needs an even width and height")
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for frame in frames:
            if frame.size != (width, height):
                raise ValueError("all frames must have the same size")
            y, cb, cr = frame.convert("RGB").convert("YCbCr").split()
            half = (width // 2, height // 2)
            out.write(b"FRAME\n")
            out.write(y.tobytes())
            out.write(cb.resize(half, Image.Resampling.BOX).tobytes())
            out.write(cr.resize(half, Image.Resampling.BOX).tobytes())
    return path


def qr_video(path: Path, text: str, *, frames: int = 5, fps: int = 10) -> Path:
    """A short looping Y4M video showing the QR of ``text`` (a few identical frames)."""
    frame = camera_frame(text)
    return write_y4m(path, [frame] * frames, fps=fps)


def decode_qr(image: bytes | Image.Image | Path) -> list[str]:
    """Every QR text zxing-cpp finds in a PNG (bytes or file) or a Pillow image."""
    if isinstance(image, (bytes, bytearray)):
        image = Image.open(io.BytesIO(image))
    elif isinstance(image, Path):
        image = Image.open(image)
    results = zxingcpp.read_barcodes(image.convert("RGB"), formats=zxingcpp.BarcodeFormat.QRCode)
    return [result.text for result in results if result.valid]
