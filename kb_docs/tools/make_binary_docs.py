"""Generate the binary documents of the sample knowledge base (PDF and DOCX).

Run from the repository root:

    .venv/bin/python kb_docs/tools/make_binary_docs.py

Headings are kept short (at most 40 characters, on one line) so that the PDF
loader's heading heuristic recognises them.

The output is reproducible: the same script produces byte-identical files
(reportlab runs in "invariant" mode; DOCX core properties and zip timestamps
are fixed).  Each document's text lives below as a list of blocks
``(kind, text)`` where kind is ``h1``/``h2``/``h3``/``p``/``li``.

Chinese PDFs use reportlab's built-in CID font ``STSong-Light``.  The font is
not embedded (viewers substitute a local Song font), but the text layer maps
to Unicode, so pypdf extracts it correctly; ``--check`` verifies that.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import zipfile
from datetime import datetime
from pathlib import Path

KB = Path(__file__).resolve().parent.parent

Block = tuple[str, str]

_CJK_RUN = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]+")

# --------------------------------------------------------------------------
# English PDF: wealth management products
# --------------------------------------------------------------------------
WEALTH_EN: list[Block] = [
    ("h1", "Wealth Management Risk Disclosure"),
    (
        "p",
        "Harbor Bank - Retail Wealth Policy WM-07, effective 1 January 2026. Applies to all wealth "
        "management products sold or distributed by Harbor Bank, including products of its wealth "
        "management subsidiary, in mainland China and at the Hong Kong branch.",
    ),
    ("h2", "Mandatory risk disclosure"),
    (
        "p",
        "Before presenting any wealth management product, the agent must read the following sentence "
        "in full and confirm that the customer has heard it:",
    ),
    ("p", "Wealth management products are not deposits; they carry risk; invest with care."),
    (
        "p",
        "In Chinese the same disclosure is: 理财非存款、产品有风险、投资须谨慎. No return figure may be "
        "discussed before the disclosure has been read and the customer's risk assessment checked.",
    ),
    ("h2", "Products are not principal-protected"),
    (
        "li",
        "Wealth management products are NOT principal-protected unless the product documents expressly "
        "label them as principal-protected. None of the products currently on sale is principal-protected.",
    ),
    (
        "li",
        "A performance benchmark is not an expected or promised return. The customer may lose part or "
        "all of the amount invested.",
    ),
    (
        "li",
        "Wealth management products are not deposits and are not covered by deposit insurance "
        "(RMB 500,000 in mainland China) or by the Hong Kong Deposit Protection Scheme (HK$800,000).",
    ),
    (
        "li",
        "Agents must not describe any product as guaranteed, risk-free or as safe as a deposit. If a "
        "customer asks whether they can lose money, the answer is: yes, the principal can be lost.",
    ),
    ("h2", "Product risk ratings R1 to R5"),
    ("li", "R1 - Low risk: money-market instruments and high-grade deposits. Suitable for C1 and above."),
    ("li", "R2 - Medium-low risk: mainly bonds and other fixed income. Suitable for C2 and above."),
    ("li", "R3 - Medium risk: fixed income plus a limited equity allocation. Suitable for C3 and above."),
    ("li", "R4 - Medium-high risk: equity and mixed strategies. Suitable for C4 and above."),
    ("li", "R5 - High risk: commodities, derivatives, leveraged strategies. Suitable for C5 only."),
    ("p", "Even an R1 product does not guarantee the return of principal."),
    ("h2", "Suitability and risk assessment"),
    (
        "li",
        "A customer must complete the risk tolerance questionnaire before the first purchase. The result "
        "is a profile from C1 (conservative) to C5 (aggressive).",
    ),
    ("li", "The assessment is valid for 12 months; an expired assessment must be redone before any purchase."),
    (
        "li",
        "At most 2 assessments per calendar day. Agents must never suggest answers or fill in the "
        "questionnaire for the customer.",
    ),
    (
        "li",
        "A customer may only buy products whose risk rating does not exceed their profile. The bank "
        "does not sell a higher-rated product even if the customer insists.",
    ),
    (
        "li",
        "Customers aged 65 or over buying an R3 or higher product for the first time must do so at a "
        "branch, with audio and video recording and a second staff member or relative present.",
    ),
    ("h2", "Sales procedure"),
    ("li", "Step 1 - Verify the customer's identity."),
    ("li", "Step 2 - Check that the risk assessment is valid and matches the product (check_suitability)."),
    ("li", "Step 3 - Read the risk disclosure (read_risk_disclosure)."),
    (
        "li",
        "Step 4 - Explain the risk rating, term, fees and redemption rules. Typical fees: sales fee 0.3% "
        "a year, custody fee 0.02% a year, management fee 0.3% a year.",
    ),
    ("li", "Step 5 - The customer reads and signs the product terms and the risk disclosure statement."),
    (
        "li",
        "Step 6 - Privately placed products have a 24-hour cooling-off period after payment, during which "
        "the customer may cancel without reason and receive a full refund.",
    ),
    ("h2", "Redemption"),
    (
        "p",
        "Open-ended products: redemption proceeds normally arrive on T+1 business day, as stated in the "
        "product terms. Closed-ended products cannot be redeemed before maturity. Past performance is no "
        "guarantee of future results.",
    ),
    ("h2", "Next steps for the agent"),
    (
        "p",
        "check_suitability, read_risk_disclosure. Escalate to a supervisor if the customer insists on a "
        "product above their risk profile or alleges mis-selling.",
    ),
]

# --------------------------------------------------------------------------
# Chinese PDF: loan and mortgage prepayment
# --------------------------------------------------------------------------
LOAN_ZH: list[Block] = [
    ("h1", "个人贷款与住房贷款提前还款规定"),
    (
        "p",
        "海港银行零售信贷部 文件编号 RL-12，自 2026 年 1 月 1 日起执行。适用于本行在中国内地发放的个人住房贷款和个人消费贷款。",
    ),
    ("h2", "一、提前还款的条件"),
    ("p", "借款人按期归还首期月供后，可以申请部分或全部提前还款。提前还款时，须同时结清截至还款日的应计利息。"),
    ("h2", "二、住房贷款提前还款违约金"),
    ("li", "自首次放款之日起 3 年内（36 个月）提前还款的，按提前归还本金的 1% 收取违约金。"),
    ("li", "放款满 3 年后提前还款的，不收取违约金。"),
    ("li", "举例：放款后第 20 个月提前归还本金 20 万元，违约金为 2,000 元；同样金额在第 40 个月归还，不收费。"),
    ("li", "因借款人身故或全残、以房贷保障保险理赔款提前还款的，免收违约金。"),
    ("h2", "三、预约与通知期"),
    ("li", "借款人须至少提前 30 天预约提前还款，渠道包括手机银行“贷款 > 提前还款 > 预约”、客服热线 95388 或任一网点。"),
    ("li", "提前还款在预约期满后的下一个月供扣款日办理。"),
    ("li", "已预约的提前还款，可在办理日前 3 个工作日取消，不收取费用。"),
    ("h2", "四、部分提前还款"),
    ("li", "部分提前还款最低 1 万元，须为 1,000 元的整数倍。"),
    ("li", "每个自然年度最多办理 2 次部分提前还款。"),
    ("li", "部分提前还款后，借款人可选择月供不变、缩短期限，或期限不变、减少月供；未选择的，默认期限不变、减少月供。"),
    ("h2", "五、全部提前还款与解押"),
    ("li", "本行出具结清金额明细，列明本金、利息和违约金（如有）。"),
    ("li", "办理日前一日 17:00 前，还款账户须存足全部款项。"),
    (
        "li",
        "贷款结清后 5 个工作日内出具贷款结清证明，15 个工作日内交付抵押注销所需材料，由借款人到不动产登记中心办理解押。",
    ),
    ("h2", "六、个人消费贷款提前还款"),
    ("li", "个人消费贷款（海港易贷）放款满 6 个月后提前还款，不收取违约金。"),
    ("li", "放款未满 6 个月提前还款的，按提前归还本金的 2% 收取违约金。"),
    ("li", "消费贷款可在手机银行随时申请提前还款，无需预约，当日生效。"),
    ("h2", "七、坐席操作要点"),
    ("li", "先完成身份核验，再查询贷款余额。"),
    ("li", "查询首次放款日，判断是否在 3 年内，告知违约金：3 年内为提前归还本金的 1%，满 3 年后为 0。"),
    ("li", "说明 30 天预约期、最低 1 万元及缩短期限或减少月供的选择。"),
    ("li", "不得对利率走势作出承诺，不得替客户判断提前还款是否“划算”，可引导客户使用手机银行还款计算器。"),
]

# --------------------------------------------------------------------------
# Traditional Chinese DOCX: wealth risk disclosure (HK / TW branches)
# --------------------------------------------------------------------------
WEALTH_HANT: list[Block] = [
    ("h1", "理財產品風險披露及適合性評估（香港及台灣分行）"),
    ("p", "本指引適用於海港銀行香港分行及台灣分行銷售或代銷的理財產品及投資產品，自 2026 年 1 月 1 日起生效。"),
    ("h2", "必須宣讀的風險提示"),
    ("p", "介紹任何理財產品之前，理財專員或客服人員必須完整宣讀："),
    ("p", "理財非存款、產品有風險、投資須謹慎。"),
    ("p", "宣讀後須確認客戶已清楚聽到。未宣讀風險提示、未確認風險承受能力評估有效之前，不得介紹產品的回報。"),
    ("h2", "理財產品並不保本"),
    (
        "p",
        "本行銷售的理財產品一律不保本，除非產品文件明確標示為「保本」；目前本行在售的產品中並沒有保本產品。"
        "業績比較基準並非預期回報，亦非回報承諾，客戶可能損失部分甚至全部本金。",
    ),
    ("p", "理財產品並非存款，不受香港存款保障計劃（每名存款人上限 HK$800,000）或台灣存款保險保障。"),
    (
        "p",
        "職員不得使用「保本」「穩賺」「零風險」等字眼描述產品。客戶問到「會不會蝕本」時，須如實回答「有機會損失本金」。",
    ),
    ("h2", "產品風險等級"),
    ("h3", "R1 至 R5"),
    ("li", "R1 低風險：貨幣市場工具及高評級存款證，適合 C1 或以上客戶。"),
    ("li", "R2 中低風險：以債券為主的固定收益類，適合 C2 或以上客戶。"),
    ("li", "R3 中風險：固定收益加少量股票，適合 C3 或以上客戶。"),
    ("li", "R4 中高風險：股票類及混合類，適合 C4 或以上客戶。"),
    ("li", "R5 高風險：商品、衍生工具及槓桿類，只適合 C5 客戶。"),
    ("p", "即使是 R1 產品，亦不保證本金安全。"),
    ("h2", "風險承受能力評估"),
    ("li", "客戶首次購買前必須完成風險承受能力問卷，評估結果分為 C1（保守型）至 C5（進取型）。"),
    ("li", "評估結果有效期為 12 個月，過期須重新評估。"),
    ("li", "每個曆日最多評估 2 次；職員不得誘導客戶作答或代客戶填寫。"),
    ("li", "客戶只可購買風險等級不高於其評估結果的產品；客戶堅持購買較高風險產品，本行不予銷售。"),
    ("li", "65 歲或以上客戶首次購買 R3 或以上產品，須於分行辦理，全程錄音錄影，並由另一名職員或家人陪同確認。"),
    ("h2", "銷售程序"),
    ("li", "第一步：核實客戶身份。"),
    ("li", "第二步：確認風險承受能力評估有效並與產品相符（check_suitability）。"),
    ("li", "第三步：宣讀風險提示（read_risk_disclosure）。"),
    ("li", "第四步：說明產品風險等級、年期、費用及贖回安排；例如銷售費每年 0.3%、託管費每年 0.02%、管理費每年 0.3%。"),
    ("li", "第五步：客戶細閱並簽署產品說明書及風險披露聲明。"),
    ("li", "第六步：私人配售產品設有 24 小時冷靜期，客戶可於冷靜期內無條件取消並全數取回款項。"),
    ("h2", "贖回安排"),
    (
        "p",
        "開放式產品的贖回款項一般於 T+1 個營業日存入客戶戶口；封閉式產品於到期前不可贖回。過往表現並不代表將來表現。",
    ),
    ("h2", "下一步"),
    (
        "p",
        "check_suitability、read_risk_disclosure；客戶堅持購買超出其風險評估的產品或投訴銷售不當時，轉交主管（escalate_supervisor）。",
    ),
]

FIXED_TIME = datetime(2026, 1, 1, 0, 0, 0)


def build_pdf(blocks: list[Block], out: Path, *, title: str, cjk: bool) -> None:
    """Render blocks to a small, reproducible PDF."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    if cjk:
        body_font = head_font = "STSong-Light"
        wrap = "CJK"
    else:
        body_font, head_font, wrap = "Helvetica", "Helvetica-Bold", None
    base = {"fontName": body_font, "wordWrap": wrap} if wrap else {"fontName": body_font}
    styles = {
        "h1": ParagraphStyle("h1", **{**base, "fontName": head_font}, fontSize=16, leading=21, spaceAfter=8),
        "h2": ParagraphStyle(
            "h2", **{**base, "fontName": head_font}, fontSize=13, leading=17, spaceBefore=8, spaceAfter=4
        ),
        "h3": ParagraphStyle("h3", **{**base, "fontName": head_font}, fontSize=11, leading=15, spaceBefore=6),
        "p": ParagraphStyle("p", **base, fontSize=10, leading=14, spaceAfter=4),
        "li": ParagraphStyle("li", **base, fontSize=10, leading=14, leftIndent=12, bulletIndent=2),
    }
    story = []
    for kind, text in blocks:
        safe = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        if not cjk:  # a Latin font has no CJK glyphs: switch font for CJK runs
            safe = _CJK_RUN.sub(lambda m: f'<font name="STSong-Light">{m.group(0)}</font>', safe)
        if kind == "li":
            story.append(Paragraph(safe, styles["li"], bulletText="-"))
        else:
            story.append(Paragraph(safe, styles[kind]))
    story.append(Spacer(1, 4 * mm))
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        title=title,
        author="Harbor Bank Knowledge Team",
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        invariant=1,
    )
    doc.build(story)
    out.write_bytes(buf.getvalue())


def build_docx(blocks: list[Block], out: Path, *, title: str) -> None:
    """Render blocks to a DOCX with real 'Heading 1/2/3' styles, then normalise zip timestamps."""
    import docx

    document = docx.Document()
    props = document.core_properties
    props.title = title
    props.author = "Harbor Bank Knowledge Team"
    props.last_modified_by = "Harbor Bank Knowledge Team"
    props.created = FIXED_TIME
    props.modified = FIXED_TIME
    props.revision = 1
    levels = {"h1": 1, "h2": 2, "h3": 3}
    for kind, text in blocks:
        if kind in levels:
            document.add_heading(text, level=levels[kind])
        elif kind == "li":
            document.add_paragraph(text, style="List Bullet")
        else:
            document.add_paragraph(text)
    raw = io.BytesIO()
    document.save(raw)
    # Rewrite the zip with fixed timestamps and a stable member order so the output is reproducible.
    src = zipfile.ZipFile(io.BytesIO(raw.getvalue()))
    fixed = io.BytesIO()
    with zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, src.read(name))
    out.write_bytes(fixed.getvalue())


TARGETS = [
    (
        "en/wealth_products_risk_disclosure.pdf",
        "pdf",
        WEALTH_EN,
        "Wealth Management Products: Risk Ratings, Suitability and Risk Disclosure",
        False,
    ),
    ("zh/loan_prepayment.pdf", "pdf", LOAN_ZH, "个人贷款与住房贷款提前还款规定", True),
    (
        "zh_hant/wealth_risk_disclosure_hk_tw.docx",
        "docx",
        WEALTH_HANT,
        "理財產品風險披露及適合性評估（香港及台灣分行）",
        False,
    ),
]


def extract(path: Path) -> str:
    """Text as the ingest loaders will see it (pypdf / python-docx)."""
    if path.suffix == ".pdf":
        from pypdf import PdfReader

        return "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)
    import docx

    return "\n".join(p.text for p in docx.Document(str(path)).paragraphs)


def check(path: Path, blocks: list[Block]) -> list[str]:
    """Every heading must survive extraction (whitespace-insensitive); returns problems."""
    text = "".join(extract(path).split())
    problems = []
    for kind, heading in blocks:
        if kind.startswith("h") and "".join(heading.split()) not in text:
            problems.append(f"{path.name}: heading not extractable: {heading!r}")
    if path.stat().st_size >= 200_000:
        problems.append(f"{path.name}: {path.stat().st_size} bytes (limit 200 KB)")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only verify the existing files")
    args = parser.parse_args(argv)
    problems: list[str] = []
    for rel, kind, blocks, title, cjk in TARGETS:
        out = KB / rel
        if not args.check:
            out.parent.mkdir(parents=True, exist_ok=True)
            if kind == "pdf":
                build_pdf(blocks, out, title=title, cjk=cjk)
            else:
                build_docx(blocks, out, title=title)
        problems += check(out, blocks)
        sys.stdout.write(f"{rel}: {out.stat().st_size} bytes\n")
    for problem in problems:
        sys.stderr.write(problem + "\n")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
