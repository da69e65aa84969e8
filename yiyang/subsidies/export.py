"""A provider's monthly settlement as an .xlsx workbook for the finance department."""

from __future__ import annotations

from io import BytesIO

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from yiyang.subsidies.models import Settlement
from yiyang.subsidies.operations import settlement_lines


def yuan(fen: int) -> float:
    # Spreadsheet cells show yuan with two decimals; the ledger keeps integer fen.
    return round(fen / 100, 2)


def settlement_xlsx(settlement: Settlement) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = _("Visits")
    bold = Font(bold=True)
    sheet.append([_("Settlement"), settlement.provider.name, settlement.period.strftime("%Y-%m")])
    sheet.append([_("Closed at"), settlement.closed_at.strftime("%Y-%m-%d %H:%M"), str(settlement.closed_by)])
    sheet.append([])
    header = [
        _("Order"),
        _("Service date"),
        _("Elder"),
        _("Service category"),
        _("Programmes"),
        _("Audit result"),
        _("Audit flags"),
        _("Paid by vouchers (yuan)"),
        _("Refunded (yuan)"),
        _("Net (yuan)"),
    ]
    sheet.append(header)
    for cell in sheet[sheet.max_row]:
        cell.font = bold
    for line in settlement_lines(provider_id=settlement.provider_id, period=settlement.period):
        sheet.append(
            [
                line["order_ref"],
                line["service_date"].isoformat() if line["service_date"] else "",
                line["elder"],
                line["category"],
                line["programmes"],
                line["audit"],
                line["audit_flags"],
                yuan(line["spent_fen"]),
                yuan(line["refunded_fen"]),
                yuan(line["net_fen"]),
            ]
        )
    totals = book.create_sheet(_("Totals"))
    totals.append([_("Programme"), _("Visits"), _("Paid (yuan)"), _("Refunded (yuan)"), _("Recovered (yuan)"), _("To pay (yuan)")])
    for cell in totals[1]:
        cell.font = bold
    for row in settlement.totals.values():
        totals.append(
            [
                row["name"],
                row["visits"],
                yuan(row["spent_fen"]),
                yuan(row["refunded_fen"]),
                yuan(row["recovered_fen"]),
                yuan(row["to_pay_fen"]),
            ]
        )
    totals.append([_("Total"), "", "", "", "", yuan(settlement.total_fen)])
    for cell in totals[totals.max_row]:
        cell.font = bold
    out = BytesIO()
    book.save(out)
    return out.getvalue()
