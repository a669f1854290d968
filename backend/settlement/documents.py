"""A merchant's statement as CSV (for bookkeeping) and PDF (for the shop owner).

Rendered once, when the period closes, and stored: a closed statement is the same bytes
forever. The PDF speaks the merchant's language; amounts are shown as "EUR 1.234,56"
(nl/fr) or "EUR 1,234.56" (en) with the built-in fonts, which have no euro sign.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fpdf import FPDF

BRUSSELS = ZoneInfo("Europe/Brussels")

TEXTS: dict[str, dict[str, str]] = {
    "nl": {
        "title": "Afrekening Kernpunt", "period": "Periode", "shop": "Handelaar", "town": "Gemeente",
        "point_value": "Waarde van een punt", "totals": "Totalen", "lines": "Alle bewegingen",
        "issued": "Punten uitgegeven (uit je voorraad)", "issued_reversed": "Teruggedraaide uitgiftes",
        "bonus": "Bonuspunten betaald door de gemeente", "bonus_reversed": "Teruggedraaide bonuspunten",
        "redeemed": "Punten ingewisseld in je zaak", "redeemed_reversed": "Teruggedraaide inwisselingen",
        "paid_out": "Uitbetaald", "topup": "Voorraad bijgekocht", "clawback": "Voorraad teruggenomen (terugbetaling)",
        "float_opening": "Puntenvoorraad begin", "float_closing": "Puntenvoorraad einde",
        "owed_opening": "Openstaand tegoed begin", "owed_closing": "Openstaand tegoed einde",
        "net_amount": "Netto te ontvangen voor deze periode", "owed_closing_amount": "Totaal te ontvangen",
        "date": "Datum", "kind": "Soort", "points": "Punten", "purchase": "Aankoop", "transfer": "Boeking",
        "reversal": "teruggedraaid", "no_lines": "Geen bewegingen in deze periode.",
        "page": "Pagina", "points_unit": "punten",
    },
    "fr": {
        "title": "Décompte Kernpunt", "period": "Période", "shop": "Commerçant", "town": "Commune",
        "point_value": "Valeur d'un point", "totals": "Totaux", "lines": "Tous les mouvements",
        "issued": "Points émis (de votre réserve)", "issued_reversed": "Émissions annulées",
        "bonus": "Points bonus payés par la commune", "bonus_reversed": "Points bonus annulés",
        "redeemed": "Points échangés dans votre commerce", "redeemed_reversed": "Échanges annulés",
        "paid_out": "Versé", "topup": "Réserve achetée", "clawback": "Réserve reprise (remboursement)",
        "float_opening": "Réserve de points au début", "float_closing": "Réserve de points à la fin",
        "owed_opening": "Solde dû au début", "owed_closing": "Solde dû à la fin",
        "net_amount": "Montant net à recevoir pour la période", "owed_closing_amount": "Total à recevoir",
        "date": "Date", "kind": "Type", "points": "Points", "purchase": "Achat", "transfer": "Écriture",
        "reversal": "annulé", "no_lines": "Aucun mouvement pendant cette période.",
        "page": "Page", "points_unit": "points",
    },
    "en": {
        "title": "Kernpunt statement", "period": "Period", "shop": "Merchant", "town": "Municipality",
        "point_value": "Value of a point", "totals": "Totals", "lines": "Every movement",
        "issued": "Points issued (from your float)", "issued_reversed": "Issues reversed",
        "bonus": "Bonus points paid by the municipality", "bonus_reversed": "Bonus points reversed",
        "redeemed": "Points redeemed at your shop", "redeemed_reversed": "Redemptions reversed",
        "paid_out": "Paid out", "topup": "Float bought", "clawback": "Float taken back (refund)",
        "float_opening": "Float at the start", "float_closing": "Float at the end",
        "owed_opening": "Owed to you at the start", "owed_closing": "Owed to you at the end",
        "net_amount": "Net amount for this period", "owed_closing_amount": "Total to receive",
        "date": "Date", "kind": "Kind", "points": "Points", "purchase": "Purchase", "transfer": "Entry",
        "reversal": "reversed", "no_lines": "No movements in this period.",
        "page": "Page", "points_unit": "points",
    },
}
# Statement fields in the order a reader goes through them, with their label key.
TOTAL_ROWS = (
    ("points_issued", "issued"), ("issued_reversed", "issued_reversed"), ("bonus_points", "bonus"),
    ("bonus_reversed", "bonus_reversed"), ("points_redeemed", "redeemed"), ("redeemed_reversed", "redeemed_reversed"),
    ("points_paid_out", "paid_out"), ("float_topups", "topup"), ("float_clawbacks", "clawback"),
    ("float_opening", "float_opening"), ("float_closing", "float_closing"),
    ("owed_opening", "owed_opening"), ("owed_closing", "owed_closing"),
)


def euros(cents: int, language: str) -> str:
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    grouped = f"{whole:,}"
    if language == "en":
        return f"EUR {sign}{grouped}.{rest:02d}"
    return f"EUR {sign}{grouped.replace(',', '.')},{rest:02d}"


def _safe(text: str) -> str:
    """The built-in PDF fonts are Latin-1; anything else in a shop's name becomes '?'."""
    return text.encode("latin-1", "replace").decode("latin-1")


def _local(moment: datetime) -> str:
    return moment.astimezone(BRUSSELS).strftime("%Y-%m-%d %H:%M")


def render_csv(*, statement: Any, period: Any, lines: list[dict[str, Any]]) -> str:
    """Totals first (field,value), a blank row, then one row per line; stable English keys."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["field", "value"])
    writer.writerow(["merchant_id", statement.merchant_id])
    writer.writerow(["merchant_name", statement.merchant_name])
    writer.writerow(["period", f"{period.year}-{period.month:02d}"])
    writer.writerow(["point_value_cents", statement.point_value_cents])
    for field, _ in TOTAL_ROWS:
        writer.writerow([field, getattr(statement, field)])
    writer.writerow(["net_amount_cents", statement.net_amount_cents])
    writer.writerow(["owed_closing_cents", statement.owed_closing_cents])
    writer.writerow([])
    writer.writerow(["occurred_at_utc", "transfer_id", "kind", "figure", "reversal", "points", "purchase_cents"])
    for line in lines:
        writer.writerow([
            line["occurred_at"].isoformat(), line["transfer_id"], line["kind"], line["figure"],
            "yes" if line["reversal"] else "no", line["points"],
            "" if line["purchase_cents"] is None else line["purchase_cents"],
        ])
    return out.getvalue()


class _Statement(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.footer_text = footer_text
        self.set_auto_page_break(True, margin=18)
        self.set_margins(18, 18, 18)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("helvetica", "", 8)
        self.cell(0, 5, f"{self.footer_text} {self.page_no()}", align="C")


def render_pdf(*, statement: Any, period: Any, lines: list[dict[str, Any]], town: str) -> bytes:
    lang = statement.language if statement.language in TEXTS else "nl"
    t = TEXTS[lang]
    pdf = _Statement(f"{_safe(statement.merchant_name)} - {period.year}-{period.month:02d} - {t['page']}")
    # Fixed metadata: the same statement renders to the same bytes.
    pdf.set_creation_date(period.closed_at)
    pdf.set_title(f"{t['title']} {period.year}-{period.month:02d}")
    pdf.set_author(_safe(town))
    pdf.set_creator("Kernpunt")
    pdf.set_lang({"nl": "nl-BE", "fr": "fr-BE", "en": "en"}[lang])
    pdf.add_page()
    pdf.set_font("helvetica", "B", 16)
    pdf.cell(0, 9, t["title"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 10)
    for label, value in (
        (t["shop"], _safe(statement.merchant_name)),
        (t["town"], _safe(town)),
        (t["period"], f"{period.year}-{period.month:02d} ({_local(period.starts_at)} - {_local(period.ends_at)})"),
        (t["point_value"], euros(statement.point_value_cents, lang)),
    ):
        pdf.cell(55, 6, f"{label}:")
        pdf.cell(0, 6, str(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("helvetica", "B", 12)
    pdf.cell(0, 8, t["totals"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 10)
    pv = statement.point_value_cents
    for field, key in TOTAL_ROWS:
        value = getattr(statement, field)
        pdf.cell(100, 6, t[key])
        pdf.cell(35, 6, f"{value:,} {t['points_unit']}".replace(",", "." if lang != "en" else ","), align="R")
        pdf.cell(0, 6, euros(value * pv, lang), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "B", 11)
    for key, cents in (("net_amount", statement.net_amount_cents), ("owed_closing_amount", statement.owed_closing_cents)):
        pdf.cell(135, 8, t[key])
        pdf.cell(0, 8, euros(cents, lang), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("helvetica", "B", 12)
    pdf.cell(0, 8, t["lines"], new_x="LMARGIN", new_y="NEXT")
    widths = (38, 22, 70, 22, 22)
    pdf.set_font("helvetica", "B", 9)
    for width, key in zip(widths, ("date", "transfer", "kind", "points", "purchase"), strict=True):
        pdf.cell(width, 6, t[key], border="B", align="R" if key in ("points", "purchase") else "L")
    pdf.ln()
    pdf.set_font("helvetica", "", 9)
    if not lines:
        pdf.cell(0, 6, t["no_lines"], new_x="LMARGIN", new_y="NEXT")
    for line in lines:
        label = t.get(line["figure"], line["figure"])
        if line["reversal"]:
            label = f"{label} ({t['reversal']})"
        purchase = "" if line["purchase_cents"] is None else euros(line["purchase_cents"], lang)
        pdf.cell(widths[0], 5, _local(line["occurred_at"]))
        pdf.cell(widths[1], 5, str(line["transfer_id"]))
        pdf.cell(widths[2], 5, label[:48])
        pdf.cell(widths[3], 5, str(line["points"]), align="R")
        pdf.cell(widths[4], 5, purchase, align="R", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
