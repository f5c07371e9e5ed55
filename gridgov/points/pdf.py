"""The points certificate as a PDF (reportlab): CJK text in the Adobe CID font STSong-Light, which
PDF readers supply themselves (no font file ships with the platform), and a QR code drawn with
reportlab's own barcode widget pointing at the public verification page."""

import io

from django.utils import timezone
from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

FONT = "STSong-Light"
_registered = False


def _font() -> str:
    global _registered
    if not _registered:
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
        _registered = True
    return FONT


def _qr(c: canvas.Canvas, value: str, x: float, y: float, size: float) -> None:
    widget = QrCodeWidget(value, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    renderPDF.draw(drawing, c, x, y)


def render_certificate(*, cert, code: str, verify_url: str, kind_label: str, village: str, purpose_label: str,
                       issuer: str, categories: list[tuple[str, int]]) -> bytes:
    """The certificate's bytes. `categories`: (category name, points) earned, for the breakdown."""
    font = _font()
    buffer = io.BytesIO()
    width, height = A4
    c = canvas.Canvas(buffer, pagesize=A4, pageCompression=1)
    c.setTitle(f"积分证明 {code}")
    c.setAuthor("钟祥市网格化管理平台")
    c.setSubject("积分制积分证明")
    c.setStrokeColor(colors.HexColor("#b42318"))
    c.setLineWidth(2)
    c.rect(15 * mm, 15 * mm, width - 30 * mm, height - 30 * mm)
    c.setLineWidth(0.5)
    c.rect(17 * mm, 17 * mm, width - 34 * mm, height - 34 * mm)

    c.setFillColor(colors.HexColor("#b42318"))
    c.setFont(font, 30)
    c.drawCentredString(width / 2, height - 45 * mm, "积 分 证 明")
    c.setFillColor(colors.black)
    c.setFont(font, 11)
    c.drawCentredString(width / 2, height - 54 * mm, f"编号：{code}")

    y = height - 75 * mm
    c.setFont(font, 14)
    lines = [
        f"兹证明 {cert.subject_name}（{kind_label}，{village}）",
        "参加本村积分制管理，截至出具之日积分情况如下：",
    ]
    for line in lines:
        c.drawString(30 * mm, y, line)
        y -= 10 * mm
    y -= 2 * mm
    c.setFont(font, 13)
    rows = [("累计积分", f"{cert.earned} 分"), (f"{cert.issued_on.year}年度积分", f"{cert.year_earned} 分"),
            ("可兑换积分", f"{cert.spendable} 分")]
    rows += [(f"其中：{name}", f"{points} 分") for name, points in categories]
    for label, value in rows:
        c.drawString(40 * mm, y, label)
        c.drawRightString(width - 45 * mm, y, value)
        c.setStrokeColor(colors.HexColor("#d0d5dd"))
        c.line(40 * mm, y - 2.5 * mm, width - 45 * mm, y - 2.5 * mm)
        y -= 9 * mm
    y -= 4 * mm
    c.setFont(font, 12)
    c.drawString(30 * mm, y, f"证明用途：{purpose_label}")
    y -= 8 * mm
    c.drawString(30 * mm, y, "本证明仅证明积分情况，供入学、就业、评先评优等参考。")

    qr_size = 34 * mm
    _qr(c, verify_url, 30 * mm, 32 * mm, qr_size)
    c.setFont(font, 9)
    c.drawString(30 * mm, 28 * mm, "扫码或访问下列地址核验真伪：")
    c.drawString(30 * mm, 23 * mm, verify_url)

    c.setFont(font, 13)
    committee = "居民委员会" if village.endswith("社区") else "村民委员会"
    c.drawRightString(width - 30 * mm, 62 * mm, f"{village}{committee}")
    day = cert.issued_on
    c.drawRightString(width - 30 * mm, 53 * mm, f"{day.year}年{day.month}月{day.day}日")
    c.setFont(font, 9)
    issued = timezone.localtime(cert.issued_at)
    c.drawRightString(width - 30 * mm, 44 * mm, f"经办：{issuer}  出具时间：{issued:%Y-%m-%d %H:%M}")
    c.showPage()
    c.save()
    return buffer.getvalue()
