"""Documents for the loader tests: sample texts in each script, and builders of real PDFs and DOCX files."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ingest.loaders import LoadedDocument

# ~190-character realistic paragraphs, one per script
ZH_HANS = (
    "信用卡丢失后，请立即拨打本行客服热线或通过手机银行办理临时挂失。挂失生效后，卡片将无法进行任何交易，"
    "已发生的未授权交易可在挂失前四十八小时内申请保障。补办新卡需携带本人有效身份证件到任一网点办理，"
    "工本费为人民币十元，新卡将在七个工作日内寄送至您的账单地址。如发现可疑交易，请同时向公安机关报案"
    "并保留相关凭证，以便后续处理争议交易。如有疑问，请致电本行客服热线咨询，我们将竭诚为您服务。"
)
ZH_HANT = (
    "信用卡遺失後，請立即撥打本行客服熱線或透過行動銀行辦理臨時掛失。掛失生效後，卡片將無法進行任何交易，"
    "已發生的未授權交易可在掛失前四十八小時內申請保障。補辦新卡需攜帶本人有效身分證件到任一分行辦理，"
    "手續費為新臺幣一百元，新卡將在七個工作天內寄送至您的帳單地址。如發現可疑交易，請同時向警察機關報案"
    "並保留相關憑證，以便後續處理爭議交易。如有疑問，請致電本行客服熱線查詢，我們將竭誠為您服務。"
)
EN = (
    "If your card is lost or stolen, call the hotline at once or freeze it in the mobile app. "
    "Once frozen, the card cannot be used. A replacement card costs 10 dollars and arrives within 7 days."
)


def write(path: Path, content: str | bytes, encoding: str = "utf-8") -> Path:
    """Write text (in `encoding`) or bytes to a file, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


def kinds(doc: LoadedDocument) -> list[tuple[str, str]]:
    """The (kind, text) of every block."""
    return [(b.kind, b.text) for b in doc.blocks]


def make_pdf(pages: list[list[str]], font: str = "Helvetica") -> bytes:
    """A PDF made by reportlab, one list of lines per page (an empty string leaves a gap)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    if font != "Helvetica":
        pdfmetrics.registerFont(UnicodeCIDFont(font))
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    for lines in pages:
        c.setFont(font, 11)
        y = 780
        for line in lines:
            if line:
                c.drawString(60, y, line)
            y -= 16 if line else 28
        c.showPage()
    c.save()
    return buf.getvalue()


def make_docx(build: Callable[[Any], object]) -> bytes:
    """A DOCX made by python-docx; `build` adds the content to its `docx.Document`."""
    import docx

    document = docx.Document()
    build(document)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()
