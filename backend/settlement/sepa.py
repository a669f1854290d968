"""SEPA credit transfer initiation (pain.001.001.03) for a payout run.

One payment information block: the municipality pays every merchant of the run, in euro,
on the requested execution date. Names are reduced to the SEPA Latin character set.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from xml.etree import ElementTree as ET

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"
_ALLOWED = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-?:().,'+ ")


def sepa_text(value: str, limit: int) -> str:
    """Strip accents and drop what the SEPA character set does not have."""
    plain = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    cleaned = "".join(ch if ch in _ALLOWED else " " for ch in plain)
    return " ".join(cleaned.split())[:limit] or "-"


@dataclass(frozen=True, slots=True)
class Transaction:
    end_to_end_id: str
    amount_cents: int
    creditor_name: str
    creditor_iban: str
    remittance: str


def _amount(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def credit_transfer_xml(
    *,
    message_id: str,
    created_at: datetime,
    execution_date: date,
    debtor_name: str,
    debtor_iban: str,
    debtor_bic: str | None,
    transactions: list[Transaction],
) -> str:
    ET.register_namespace("", NAMESPACE)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{NAMESPACE}}}{tag}", attrs)
        if text is not None:
            element.text = text
        return element

    total = sum(tx.amount_cents for tx in transactions)
    root = ET.Element(f"{{{NAMESPACE}}}Document")
    initiation = sub(root, "CstmrCdtTrfInitn")
    header = sub(initiation, "GrpHdr")
    sub(header, "MsgId", message_id)
    sub(header, "CreDtTm", created_at.replace(microsecond=0, tzinfo=None).isoformat())
    sub(header, "NbOfTxs", str(len(transactions)))
    sub(header, "CtrlSum", _amount(total))
    sub(sub(header, "InitgPty"), "Nm", sepa_text(debtor_name, 70))

    info = sub(initiation, "PmtInf")
    sub(info, "PmtInfId", message_id)
    sub(info, "PmtMtd", "TRF")
    sub(info, "BtchBookg", "true")
    sub(info, "NbOfTxs", str(len(transactions)))
    sub(info, "CtrlSum", _amount(total))
    sub(sub(sub(info, "PmtTpInf"), "SvcLvl"), "Cd", "SEPA")
    sub(info, "ReqdExctnDt", execution_date.isoformat())
    sub(sub(info, "Dbtr"), "Nm", sepa_text(debtor_name, 70))
    sub(sub(sub(info, "DbtrAcct"), "Id"), "IBAN", debtor_iban)
    agent = sub(sub(info, "DbtrAgt"), "FinInstnId")
    if debtor_bic:
        sub(agent, "BIC", debtor_bic)
    else:
        sub(sub(agent, "Othr"), "Id", "NOTPROVIDED")
    sub(info, "ChrgBr", "SLEV")
    for tx in transactions:
        item = sub(info, "CdtTrfTxInf")
        sub(sub(item, "PmtId"), "EndToEndId", tx.end_to_end_id)
        sub(sub(item, "Amt"), "InstdAmt", _amount(tx.amount_cents), Ccy="EUR")
        sub(sub(item, "Cdtr"), "Nm", sepa_text(tx.creditor_name, 70))
        sub(sub(sub(item, "CdtrAcct"), "Id"), "IBAN", tx.creditor_iban)
        sub(sub(item, "RmtInf"), "Ustrd", sepa_text(tx.remittance, 140))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
