"""The printable sheet of a card batch (A4, Dutch): card fronts, then PIN slips.

Cards are credit-card sized (85.6 x 54 mm), 2 x 5 to a page with cut marks; the QR code
is drawn as vector squares (sharp at any printer resolution, tiny file). The PIN slips
come on pages of their own, so the municipality can hand out (or post) a card and its
PIN separately. Fonts: DejaVu from the system when fontconfig finds it, else the
built-in Helvetica/Courier (never a font file in the repository).
"""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import segno
from fpdf import FPDF

from backend.cards.numbers import format_card_number, qr_text

PAGE_W, PAGE_H = 210.0, 297.0
CARD_W, CARD_H = 85.6, 54.0
CARD_COLS, CARD_ROWS = 2, 5
SLIP_COLS, SLIP_ROWS = 2, 8
SLIP_H = CARD_H * CARD_ROWS / SLIP_ROWS
LEFT = (PAGE_W - CARD_W * CARD_COLS) / 2
TOP = (PAGE_H - CARD_H * CARD_ROWS) / 2
PAD = 5.0
QR_SIZE = 30.0  # mm for the 21 modules of a version-1 code: 1.4 mm modules
MARK_GAP, MARK_LEN = 2.0, 6.0


@lru_cache(maxsize=1)
def _system_fonts() -> dict[str, str] | None:
    """DejaVu Sans (regular, bold) and Sans Mono (regular, bold) files, if all are installed."""
    if shutil.which("fc-match") is None:
        return None
    wanted = {
        "": "DejaVu Sans",
        "B": "DejaVu Sans:style=Bold",
        "mono": "DejaVu Sans Mono",
        "monoB": "DejaVu Sans Mono:style=Bold",
    }
    found: dict[str, str] = {}
    for style, pattern in wanted.items():
        try:
            path = subprocess.run(
                ["fc-match", "-f", "%{file}", pattern],
                capture_output=True,
                text=True,
                timeout=5,
                check=True,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None
        # fc-match always answers: a fallback font means DejaVu is not there.
        if not Path(path).name.startswith("DejaVu") or not Path(path).is_file():
            return None
        found[style] = path
    return found


class _Sheet(FPDF):
    def __init__(self) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.set_auto_page_break(False)
        self.set_margins(0, 0, 0)
        fonts = _system_fonts()
        if fonts:
            self.add_font("Sans", "", fonts[""])
            self.add_font("Sans", "B", fonts["B"])
            self.add_font("Mono", "", fonts["mono"])
            self.add_font("Mono", "B", fonts["monoB"])
            self.sans, self.mono = "Sans", "Mono"
        else:
            self.sans, self.mono = "helvetica", "courier"

    def font(self, family: str, size: float, style: str = "") -> None:
        self.set_font(self.sans if family == "sans" else self.mono, style, size)


def render_sheet(*, town: str, batch_id: int, cards: list[tuple[str, str]]) -> bytes:
    """The PDF for ``cards`` given as (number, PIN) in card order."""
    pdf = _Sheet()
    pdf.set_title(f"Kernpunt spaarkaarten - reeks {batch_id}")
    pdf.set_author(town)
    pdf.set_creator("Kernpunt")
    pdf.set_lang("nl-BE")
    per_page = CARD_COLS * CARD_ROWS
    for start in range(0, len(cards), per_page):
        pdf.add_page()
        chunk = cards[start : start + per_page]
        _cut_marks(pdf, rows=CARD_ROWS, row_h=CARD_H)
        for index, (number, _pin) in enumerate(chunk):
            x, y = LEFT + (index % CARD_COLS) * CARD_W, TOP + (index // CARD_COLS) * CARD_H
            _card_front(pdf, x, y, town=town, number=number)
    per_page = SLIP_COLS * SLIP_ROWS
    for start in range(0, len(cards), per_page):
        pdf.add_page()
        chunk = cards[start : start + per_page]
        _cut_marks(pdf, rows=SLIP_ROWS, row_h=SLIP_H)
        for index, (number, pin) in enumerate(chunk):
            x, y = LEFT + (index % SLIP_COLS) * CARD_W, TOP + (index // SLIP_COLS) * SLIP_H
            _pin_slip(pdf, x, y, town=town, number=number, pin=pin)
    return bytes(pdf.output())


def _cut_marks(pdf: _Sheet, *, rows: int, row_h: float) -> None:
    right, bottom = LEFT + CARD_COLS * CARD_W, TOP + rows * row_h
    pdf.set_draw_color(0)
    pdf.set_line_width(0.2)
    for col in range(CARD_COLS + 1):
        x = LEFT + col * CARD_W
        pdf.line(x, TOP - MARK_GAP - MARK_LEN, x, TOP - MARK_GAP)
        pdf.line(x, bottom + MARK_GAP, x, bottom + MARK_GAP + MARK_LEN)
    for row in range(rows + 1):
        y = TOP + row * row_h
        pdf.line(LEFT - MARK_GAP - MARK_LEN, y, LEFT - MARK_GAP, y)
        pdf.line(right + MARK_GAP, y, right + MARK_GAP + MARK_LEN, y)
    # A hairline in light grey shows where to cut without printing a black frame.
    pdf.set_draw_color(200)
    pdf.set_line_width(0.1)
    for col in range(CARD_COLS + 1):
        pdf.line(LEFT + col * CARD_W, TOP, LEFT + col * CARD_W, bottom)
    for row in range(rows + 1):
        pdf.line(LEFT, TOP + row * row_h, right, TOP + row * row_h)
    pdf.set_draw_color(0)


def _card_front(pdf: _Sheet, x: float, y: float, *, town: str, number: str) -> None:
    pdf.set_text_color(0)
    pdf.font("sans", 12, "B")
    pdf.set_xy(x + PAD, y + PAD)
    pdf.cell(CARD_W - QR_SIZE - 3 * PAD, 5, _fit(pdf, town, CARD_W - QR_SIZE - 3 * PAD))
    pdf.font("sans", 10)
    pdf.set_xy(x + PAD, y + PAD + 6)
    pdf.cell(CARD_W - QR_SIZE - 3 * PAD, 5, "Kernpunt spaarkaart")
    pdf.font("sans", 7)
    pdf.set_xy(x + PAD, y + PAD + 14)
    pdf.multi_cell(
        CARD_W - QR_SIZE - 3 * PAD - 2,
        3.2,
        "Toon deze kaart aan de kassa om punten te sparen. Betalen met punten vraagt uw PIN.",
        align="L",
    )
    _qr(pdf, qr_text(number), x + CARD_W - PAD - QR_SIZE, y + PAD, QR_SIZE)
    pdf.font("mono", 14, "B")
    pdf.text(x + PAD, y + CARD_H - PAD - 1, format_card_number(number))


def _pin_slip(pdf: _Sheet, x: float, y: float, *, town: str, number: str, pin: str) -> None:
    pdf.set_text_color(0)
    pdf.font("sans", 8)
    pdf.text(x + PAD, y + 6, _fit(pdf, f"Kernpunt spaarkaart - {town}", CARD_W - 2 * PAD))
    pdf.font("sans", 8)
    pdf.text(x + PAD, y + 12, "Kaartnummer")
    pdf.font("mono", 10, "B")
    pdf.text(x + PAD + 22, y + 12, format_card_number(number))
    pdf.font("sans", 8)
    pdf.text(x + PAD, y + 20, "Uw PIN")
    pdf.font("mono", 18, "B")
    pdf.text(x + PAD + 22, y + 21, pin)
    pdf.font("sans", 7, "B")
    pdf.text(x + PAD, y + 27, "Houd uw PIN geheim.")
    pdf.font("sans", 7)
    pdf.text(x + PAD, y + 30.5, "Bewaar dit briefje niet bij uw kaart. Tik uw PIN zelf in.")


def _qr(pdf: _Sheet, text: str, x: float, y: float, size: float) -> None:
    matrix = segno.make(text, error="m", micro=False).matrix
    module = size / len(matrix)
    pdf.set_fill_color(0)
    for row_index, row in enumerate(matrix):
        col = 0
        while col < len(row):
            if not row[col]:
                col += 1
                continue
            start = col
            while col < len(row) and row[col]:
                col += 1
            # One rectangle per horizontal run of dark modules keeps the file small.
            pdf.rect(
                x + start * module,
                y + row_index * module,
                (col - start) * module,
                module,
                style="F",
            )


def _fit(pdf: _Sheet, text: str, width: float) -> str:
    """``text`` shortened with an ellipsis-free cut so it fits ``width`` (long town names)."""
    while text and pdf.get_string_width(text) > width:
        text = text[:-1]
    return text
