"""DocumentLoader and iter_document_paths: every format, every encoding, and the bad cases."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest

from assist.errors import LoadError, TooLargeError, UnsupportedTypeError
from ingest.loaders import Block, DocumentLoader, LoadedDocument, decode_bytes, iter_document_paths

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


@pytest.fixture
def loader() -> DocumentLoader:
    return DocumentLoader()


def write(path: Path, content: str | bytes, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


def kinds(doc: LoadedDocument) -> list[tuple[str, str]]:
    return [(b.kind, b.text) for b in doc.blocks]


# ------------------------------------------------------------------------------------------ Markdown


def test_markdown_front_matter_headings_and_paragraphs(tmp_path: Path, loader: DocumentLoader) -> None:
    md = write(
        tmp_path / "kb" / "cards" / "loss.md",
        "---\n"
        "title: 信用卡挂失与补卡\n"
        "product: credit_card\n"
        "tags: [卡片, 挂失]\n"
        "effective_from: 2024-01-01\n"
        "effective_to: '2025-12-31'\n"
        "next_steps: verify_identity, freeze_card\n"
        "---\n"
        "# 信用卡挂失与补卡\n\n"
        "## 挂失流程\n"
        "请**立即**拨打[客服热线](tel:95588)挂失，\n"
        "挂失后卡片即时冻结。\n\n"
        "- 第一步：核实身份\n"
        "- 第二步：冻结卡片\n\n"
        "### 补卡\n"
        "| 项目 | 费用 |\n|---|---|\n| 补卡 | 10元 |\n\n"
        "```\n# not a heading inside a code fence\n```\n",
    )
    doc = loader.run(md, base_dir=tmp_path / "kb")

    assert doc.source == "cards/loss.md"
    assert doc.title == "信用卡挂失与补卡"
    assert doc.file_type == "md"
    assert doc.encoding == "utf-8"
    assert doc.meta["product"] == "credit_card"
    assert doc.meta["tags"] == ["卡片", "挂失"]
    assert doc.meta["effective_from"] == dt.date(2024, 1, 1)
    assert doc.meta["effective_to"] == dt.date(2025, 12, 31)
    assert doc.meta["next_steps"] == ["verify_identity", "freeze_card"]
    assert [(b.text, b.level) for b in doc.blocks if b.kind == "heading"] == [
        ("信用卡挂失与补卡", 1),
        ("挂失流程", 2),
        ("补卡", 3),
    ]
    paragraphs = [b.text for b in doc.blocks if b.kind == "paragraph"]
    assert paragraphs[0] == "请立即拨打客服热线挂失，挂失后卡片即时冻结。"  # emphasis and link syntax gone
    assert paragraphs[1] == "- 第一步：核实身份\n- 第二步：冻结卡片"  # list items stay in one paragraph
    assert paragraphs[2] == "| 项目：补卡 | 费用：10元 |"  # a table row names its columns; the header row goes
    assert paragraphs[3] == "# not a heading inside a code fence"
    assert "挂失流程" in doc.text and "费用：10元" in doc.text


def test_markdown_title_falls_back_to_first_heading_then_stem(tmp_path: Path, loader: DocumentLoader) -> None:
    with_heading = write(tmp_path / "fees.md", "Intro line.\n\n## Annual fees\n\nThe annual fee is waived.")
    without = write(tmp_path / "deposit-insurance.md", "Deposits are insured up to 500,000 yuan.")
    assert loader.run(with_heading).title == "Annual fees"
    assert loader.run(without).title == "deposit-insurance"


def test_markdown_front_matter_source_overrides_path(tmp_path: Path, loader: DocumentLoader) -> None:
    md = write(tmp_path / "v2" / "fees.md", "---\nsource: cards/fees\n---\n# Fees\n\nNo annual fee.")
    assert loader.run(md, base_dir=tmp_path).source == "cards/fees"


def test_markdown_english_emphasis_and_links_light(tmp_path: Path, loader: DocumentLoader) -> None:
    md = write(
        tmp_path / "a.md",
        "# Disputes\n\nSee *the* [dispute form](https://bank.example/form) and `verify_identity`; "
        "snake_case_words stay.\n\nSetext title\n============\n\nBody text here.",
    )
    doc = loader.run(md)
    assert doc.blocks[1].text == "See the dispute form and verify_identity; snake_case_words stay."
    assert doc.blocks[2] == Block("heading", "Setext title", level=1)


def test_markdown_bad_front_matter_yaml_names_file_and_reason(tmp_path: Path, loader: DocumentLoader) -> None:
    md = write(tmp_path / "bad.md", "---\ntitle: [unclosed\n---\n# Hi\n\ntext")
    with pytest.raises(LoadError) as err:
        loader.run(md)
    assert err.value.source == "bad.md"
    assert "invalid YAML in front matter" in err.value.reason
    assert str(err.value).startswith("bad.md: ")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("---\ntitle: x\n# no closing line\n", "no closing '---'"),
        ("---\n- a\n- b\n---\nbody", "must be a mapping"),
        ("---\neffective_from: 2024-13-45\n---\nbody", r"bad date for 'effective_from': '2024-13-45'"),
        ("---\neffective_to: soon\n---\nbody", r"'effective_to': 'soon' \(expected YYYY-MM-DD\)"),
    ],
)
def test_markdown_malformed_front_matter(tmp_path: Path, loader: DocumentLoader, content: str, reason: str) -> None:
    with pytest.raises(LoadError, match=reason):
        loader.run(write(tmp_path / "x.md", content))


# ---------------------------------------------------------------------------------------- Plain text


def test_plain_text_title_line_and_hash_headings(tmp_path: Path, loader: DocumentLoader) -> None:
    txt = write(
        tmp_path / "fraud.txt",
        "Anti-fraud notice\n\nStaff never ask for one-time passcodes.\nNever share them.\n\n"
        "# What to do\n\nHang up and call the number on your card.",
    )
    doc = loader.run(txt)
    assert doc.title == "Anti-fraud notice"
    assert kinds(doc) == [
        ("heading", "Anti-fraud notice"),
        ("paragraph", "Staff never ask for one-time passcodes.\nNever share them."),
        ("heading", "What to do"),
        ("paragraph", "Hang up and call the number on your card."),
    ]


def test_plain_text_first_line_that_is_a_sentence_is_not_a_title(tmp_path: Path, loader: DocumentLoader) -> None:
    txt = write(tmp_path / "note.txt", "转账限额为每日五万元。\n\n柜台转账不设限额。")
    doc = loader.run(txt)
    assert doc.title == "note"
    assert all(b.kind == "paragraph" for b in doc.blocks)


def test_plain_text_numbered_chinese_headings(tmp_path: Path, loader: DocumentLoader) -> None:
    txt = write(
        tmp_path / "t.txt",
        "存款保险说明\n\n一、保障范围\n\n人民币和外币存款均受保障。\n\n二、赔付限额\n\n最高五十万元。",
    )
    doc = loader.run(txt)
    assert [b.text for b in doc.blocks if b.kind == "heading"] == [
        "存款保险说明",
        "一、保障范围",
        "二、赔付限额",
    ]


# ----------------------------------------------------------------------------------------- Encodings


@pytest.mark.parametrize(
    ("text", "encoding", "expected"),
    [
        (ZH_HANS, "gb18030", "gb18030"),
        (ZH_HANS, "gbk", "gb18030"),
        (ZH_HANS, "gb2312", "gb18030"),
        (ZH_HANT, "big5", "big5"),
        (ZH_HANT, "gb18030", "gb18030"),
        (ZH_HANS, "utf-8", "utf-8"),
        (ZH_HANT, "utf-8-sig", "utf-8-sig"),
        (EN, "utf-8", "utf-8"),
    ],
)
def test_text_encodings_round_trip(
    tmp_path: Path, loader: DocumentLoader, text: str, encoding: str, expected: str
) -> None:
    path = write(tmp_path / "doc.txt", text, encoding=encoding)
    doc = loader.run(path)
    assert doc.encoding == expected
    assert doc.blocks[-1].text == text
    assert "\ufeff" not in doc.text


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("信用卡丢失后请立即挂失", "gb18030"),  # short: charset-normalizer alone guesses Korean cp949
        ("信用卡遺失後請立即掛失", "big5"),
        ("一、保障范围", "gbk"),
    ],
)
def test_short_chinese_texts_prefer_chinese_code_pages(text: str, encoding: str) -> None:
    decoded, used = decode_bytes(text.encode(encoding), "s.txt")
    assert decoded == text
    assert used in {"gb18030", "big5", "cp950", "big5hkscs"}


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Please contact 王小明 at the Harbor Bank branch for the card replacement form.", "gb18030"),
        ("Please contact 陳大文 at the Harbor Bank branch for the card replacement form.", "big5"),
        ("Fees: 年费 100 yuan; 取现 1% (min 10 yuan). Contact 95388.", "gbk"),
        ("Fees: 年費 100 元; 取現 1% (最低 10 元). Contact 95388.", "big5"),
        ("如果你張信用卡唔見咗，請即刻打電話俾我哋嘅客戶服務熱線，我哋會幫你暫停張卡。", "big5hkscs"),
        ("手續費為新臺幣", "gb18030"),  # Traditional characters in a GB encoding
        ("Ref 9 掛失生效 today.", "big5"),
        ("Café crème costs 5 € and the “quoted” naïve résumé stays intact.", "cp1252"),
    ],
)
def test_mixed_and_short_texts_decode_exactly(text: str, encoding: str) -> None:
    assert decode_bytes(text.encode(encoding), "m.txt")[0] == text


def test_utf16_with_bom_is_text(tmp_path: Path, loader: DocumentLoader) -> None:
    doc = loader.run(write(tmp_path / "w.txt", "\ufeff" + ZH_HANS, encoding="utf-16-le"))
    assert doc.blocks[-1].text == ZH_HANS


def test_windows_line_ends_are_normalised(tmp_path: Path, loader: DocumentLoader) -> None:
    doc = loader.run(write(tmp_path / "w.md", "# 标题\r\n\r\n第一段。\r\n\r\n第二段。\r\n", encoding="gb18030"))
    assert kinds(doc) == [("heading", "标题"), ("paragraph", "第一段。"), ("paragraph", "第二段。")]


# ---------------------------------------------------------------------------------------------- HTML


def test_html_headings_paragraphs_tables_and_dropped_chrome(tmp_path: Path, loader: DocumentLoader) -> None:
    html = write(
        tmp_path / "limits.html",
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Transfer limits</title>"
        "<style>p { color: red }</style></head><body>"
        "<nav><a href='/'>Home</a> | <a href='/x'>Menu</a></nav>"
        "<h1>Transfer limits</h1>"
        "<p>Mobile banking: 50,000 &amp; up to\n   200,000 per day.<br>Counter: none.</p>"
        "<h2>Overseas</h2><ul><li>SWIFT transfers need a purpose code.</li><li>Fees vary.</li></ul>"
        "<table><tr><th>Channel</th><th>Limit</th></tr><tr><td>App</td><td>50,000</td></tr></table>"
        "<script>var secret = 1;</script></body></html>",
    )
    doc = loader.run(html)
    assert doc.title == "Transfer limits"
    assert kinds(doc) == [
        ("heading", "Transfer limits"),
        ("paragraph", "Mobile banking: 50,000 & up to 200,000 per day.\nCounter: none."),
        ("heading", "Overseas"),
        ("paragraph", "SWIFT transfers need a purpose code."),
        ("paragraph", "Fees vary."),
        ("paragraph", "| Channel: App | Limit: 50,000 |"),  # a row of <th> cells names the columns
    ]
    assert [b.level for b in doc.blocks if b.kind == "heading"] == [1, 2]
    assert "secret" not in doc.text and "Menu" not in doc.text and "color" not in doc.text


def test_html_title_from_first_h1_when_no_title_tag(tmp_path: Path, loader: DocumentLoader) -> None:
    doc = loader.run(write(tmp_path / "a.htm", "<body><p>前言。</p><h1>基金申购</h1><p>申购费率为1.5%。</p></body>"))
    assert doc.title == "基金申购"
    assert doc.file_type == "html"


@pytest.mark.parametrize(("text", "charset"), [(ZH_HANT, "big5"), (ZH_HANS, "gb2312"), (ZH_HANS, "GBK")])
def test_html_meta_charset_is_respected(tmp_path: Path, loader: DocumentLoader, text: str, charset: str) -> None:
    page = f'<html><head><meta http-equiv="Content-Type" content="text/html; charset={charset}"></head>'
    page += f"<body><h1>說明</h1><p>{text}</p></body></html>"
    doc = loader.run(write(tmp_path / "p.html", page, encoding="big5" if charset == "big5" else "gb18030"))
    assert doc.blocks[-1].text == text


# ----------------------------------------------------------------------------------------------- PDF


def make_pdf(pages: list[list[str]], font: str = "Helvetica") -> bytes:
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


def test_pdf_pages_and_headings(tmp_path: Path, loader: DocumentLoader) -> None:
    pdf = write(
        tmp_path / "mortgage.pdf",
        make_pdf(
            [
                [
                    "Mortgage prepayment",
                    "",
                    "You may prepay part or all of the loan after 12 months.",
                    "A fee of 1% applies.",
                ],
                ["Fees", "There is no fee after 36 months.", "", "3"],
            ]
        ),
    )
    doc = loader.run(pdf)
    assert doc.file_type == "pdf"
    assert doc.encoding is None
    assert doc.title == "Mortgage prepayment"  # reportlab's "untitled" metadata is ignored
    assert [(b.kind, b.text, b.page) for b in doc.blocks] == [
        ("heading", "Mortgage prepayment", 1),
        ("paragraph", "You may prepay part or all of the loan after 12 months.\nA fee of 1% applies.", 1),
        ("heading", "Fees", 2),
        ("paragraph", "There is no fee after 36 months.", 2),
    ]
    assert [b.level for b in doc.blocks if b.kind == "heading"] == [1, 2]  # the first line is the title


def test_pdf_running_headers_page_numbers_and_short_lines(tmp_path: Path, loader: DocumentLoader) -> None:
    pages = [
        [
            "Harbor Bank - Internal",
            "Card fees",
            "The fees below apply from 1 January 2026.",
            "",
            "Replacement card",
            "10",
            "Cash advance",
            "3%",
            "",
            "Page 1 of 3",
        ],
        ["Harbor Bank - Internal", "Annual fee", "The annual fee is waived after six purchases.", "", "Page 2 of 3"],
        ["Harbor Bank - Internal", "Foreign fees", "A fee of 1.5% applies abroad.", "", "Page 3 of 3"],
    ]
    pages[0].insert(6, "Page 7 of 9")  # inside the text: not a footer, kept
    doc = loader.run(write(tmp_path / "fees.pdf", make_pdf(pages)))
    assert [(b.kind, b.text, b.page) for b in doc.blocks] == [
        ("heading", "Card fees", 1),
        # pypdf gives no blank lines; the short table lines stay text and are not taken for headings
        (
            "paragraph",
            "The fees below apply from 1 January 2026.\nReplacement card\n10\nPage 7 of 9\nCash advance\n3%",
            1,
        ),
        ("heading", "Annual fee", 2),
        ("paragraph", "The annual fee is waived after six purchases.", 2),
        ("heading", "Foreign fees", 3),
        ("paragraph", "A fee of 1.5% applies abroad.", 3),
    ]


@pytest.mark.parametrize(
    ("font", "heading", "body"),
    [
        ("STSong-Light", "提前还款", "贷款满十二个月后可申请提前还款，违约金为剩余本金的百分之一。"),
        ("MSung-Light", "提前還款", "貸款滿十二個月後可申請提前還款，違約金為剩餘本金的百分之一。"),
    ],
)
def test_pdf_chinese_text(tmp_path: Path, loader: DocumentLoader, font: str, heading: str, body: str) -> None:
    doc = loader.run(write(tmp_path / "zh.pdf", make_pdf([[heading, body]], font=font)))
    assert [(b.kind, b.text, b.page) for b in doc.blocks] == [("heading", heading, 1), ("paragraph", body, 1)]


def test_pdf_without_text_is_reported_as_scanned(tmp_path: Path, loader: DocumentLoader) -> None:
    with pytest.raises(LoadError, match=r"scan\.pdf: no extractable text \(scanned PDF\?\)"):
        loader.run(write(tmp_path / "scan.pdf", make_pdf([[]])))


def test_corrupt_pdf(tmp_path: Path, loader: DocumentLoader) -> None:
    good = make_pdf([["Hello world. This is a page."]])
    with pytest.raises(LoadError) as err:
        loader.run(write(tmp_path / "broken.pdf", b"%PDF-1.4\n" + good[400:600]))
    assert err.value.source == "broken.pdf"
    assert err.value.reason.startswith(("corrupt or unreadable PDF", "no extractable text"))


def test_not_a_pdf_at_all(tmp_path: Path, loader: DocumentLoader) -> None:
    with pytest.raises(LoadError, match=r"fake\.pdf: corrupt or unreadable PDF"):
        loader.run(write(tmp_path / "fake.pdf", "this is plain text pretending to be a PDF"))


def test_encrypted_pdf(tmp_path: Path, loader: DocumentLoader) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(make_pdf([["Secret statement text."]]))).pages:
        writer.add_page(page)
    writer.encrypt(user_password="s3cret", owner_password="owner", algorithm="RC4-128")
    buf = io.BytesIO()
    writer.write(buf)
    with pytest.raises(LoadError, match=r"locked\.pdf: encrypted PDF"):
        loader.run(write(tmp_path / "locked.pdf", buf.getvalue()))


# ---------------------------------------------------------------------------------------------- DOCX


def make_docx(build) -> bytes:  # type: ignore[no-untyped-def]
    import docx

    document = docx.Document()
    build(document)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def test_docx_headings_paragraphs_and_tables(tmp_path: Path, loader: DocumentLoader) -> None:
    def build(d):  # type: ignore[no-untyped-def]
        d.add_heading("保險冷靜期", level=0)  # style "Title"
        d.add_paragraph("投保後十五日內可申請撤銷保單。")
        d.add_heading("退保", level=1)
        d.add_heading("Surrender value", level=2)
        d.add_paragraph("")
        table = d.add_table(rows=2, cols=2)
        for r, row in enumerate([("年度", "現金價值"), ("第一年", "保費的百分之二十")]):
            for c, value in enumerate(row):
                table.cell(r, c).text = value
        d.add_paragraph("Surrender after the cooling-off period returns the cash value only.")

    doc = loader.run(write(tmp_path / "insurance.docx", make_docx(build)))
    assert doc.file_type == "docx"
    assert doc.title == "保險冷靜期"
    assert [(b.kind, b.text, b.level) for b in doc.blocks] == [
        ("heading", "保險冷靜期", 1),
        ("paragraph", "投保後十五日內可申請撤銷保單。", 0),
        ("heading", "退保", 1),
        ("heading", "Surrender value", 2),
        ("paragraph", "| 年度：第一年 | 現金價值：保費的百分之二十 |", 0),  # the first row is the header
        ("paragraph", "Surrender after the cooling-off period returns the cash value only.", 0),
    ]


@pytest.mark.parametrize("content", [b"PK\x03\x04 not really a zip", b"plain words, not a document"])
def test_corrupt_docx(tmp_path: Path, loader: DocumentLoader, content: bytes) -> None:
    with pytest.raises(LoadError, match=r"^broken\.docx: corrupt or unreadable DOCX"):
        loader.run(write(tmp_path / "broken.docx", content))


# ------------------------------------------------------------------------------------------- FAQ CSV


def test_faq_csv_rows_become_qa_blocks_with_sections(tmp_path: Path, loader: DocumentLoader) -> None:
    csv_text = (
        "Section,Question,Answer,product\n"
        "卡片,信用卡丢了怎么办？,请立即挂失，并补办新卡。,card\n"
        '卡片,"How do I freeze my card, quickly?","Use the app: Cards > Freeze.",card\n'
        "存款,存款保险保多少？,最高五十万元。,deposit\n"
        ",,,\n"
        "存款,这一行没有答案,,deposit\n"
    )
    doc = loader.run(write(tmp_path / "faq.csv", csv_text, encoding="gb18030"))
    assert doc.file_type == "csv"
    assert doc.encoding == "gb18030"
    assert doc.title == "faq"
    assert [(b.kind, b.question, b.text) for b in doc.blocks] == [
        ("heading", None, "卡片"),
        ("qa", "信用卡丢了怎么办？", "请立即挂失，并补办新卡。"),
        ("qa", "How do I freeze my card, quickly?", "Use the app: Cards > Freeze."),
        ("heading", None, "存款"),
        ("qa", "存款保险保多少？", "最高五十万元。"),
    ]
    assert doc.meta["skipped_rows"] == 1
    assert "信用卡丢了怎么办？\n请立即挂失" in doc.text


@pytest.mark.parametrize(("header", "encoding"), [("問題,回答", "big5"), ("问题,答案", "utf-8-sig")])
def test_faq_csv_chinese_headers(tmp_path: Path, loader: DocumentLoader, header: str, encoding: str) -> None:
    doc = loader.run(write(tmp_path / "faq.csv", f"{header}\n轉帳限額是多少？,每日五十萬元。\n", encoding=encoding))
    assert [(b.question, b.text) for b in doc.blocks] == [("轉帳限額是多少？", "每日五十萬元。")]


@pytest.mark.parametrize("sep", [",", "\t", ";"])
def test_faq_csv_delimiter_comes_from_the_header(tmp_path: Path, loader: DocumentLoader, sep: str) -> None:
    answer = "Yes; call 95388, or use the app; fees: none" if sep != ";" else "Yes, call 95388, or use the app"
    rows = f"question{sep}answer\nCan I freeze my card?{sep}{answer}\nIs it free?{sep}Yes\n"
    doc = loader.run(write(tmp_path / "faq.csv", rows))
    assert [(b.question, b.text) for b in doc.blocks] == [("Can I freeze my card?", answer), ("Is it free?", "Yes")]


def test_faq_csv_multi_line_quoted_answer(tmp_path: Path, loader: DocumentLoader) -> None:
    doc = loader.run(write(tmp_path / "faq.csv", '问题,答案\n怎么挂失？,"1. 致电客服\n2. 冻结卡片"\n'))
    assert doc.blocks[0].text == "1. 致电客服\n2. 冻结卡片"


def test_faq_csv_missing_column_is_named(tmp_path: Path, loader: DocumentLoader) -> None:
    with pytest.raises(
        LoadError, match=r"faq\.csv: FAQ CSV is missing the 'answer' column \(header: question, reply\)"
    ):
        loader.run(write(tmp_path / "faq.csv", "question,reply\nq,a\n"))


def test_faq_csv_with_only_incomplete_rows(tmp_path: Path, loader: DocumentLoader) -> None:
    with pytest.raises(LoadError, match="no rows with both a question and an answer"):
        loader.run(write(tmp_path / "faq.csv", "question,answer\nq,\n"))


# ------------------------------------------------------------------------------------------ Metadata


def test_sidecar_metadata_and_precedence(tmp_path: Path, loader: DocumentLoader) -> None:
    md = write(tmp_path / "fund.md", "---\nproduct: fund\n---\n# 基金\n\n申购费率为1.5%。")
    write(tmp_path / "fund.md.meta.yaml", "product: wealth\nlanguage: zh-Hans\neffective_to: 2030-01-01\n")
    pdf = write(tmp_path / "fund.pdf", make_pdf([["Fund fees", "Subscription fee is 1.5%."]]))
    write(tmp_path / "fund.pdf.meta.yaml", "product: fund\ntags: [fees]\n")

    md_doc = loader.run(md)
    assert md_doc.meta == {"product": "fund", "language": "zh-Hans", "effective_to": dt.date(2030, 1, 1)}
    assert loader.run(pdf).meta == {"product": "fund", "tags": ["fees"]}
    overridden = loader.run(md, meta={"product": "bond", "title": "", "effective_from": "2024-06-01"})
    assert overridden.meta["product"] == "bond"
    assert overridden.meta["effective_from"] == dt.date(2024, 6, 1)
    assert overridden.title == "基金"  # an empty form field does not blank the title


def test_docx_without_text(tmp_path: Path, loader: DocumentLoader) -> None:
    with pytest.raises(LoadError, match=r"^blank\.docx: no text content$"):
        loader.run(write(tmp_path / "blank.docx", make_docx(lambda d: d.add_paragraph("   "))))


def test_markdown_with_only_front_matter(tmp_path: Path, loader: DocumentLoader) -> None:
    with pytest.raises(LoadError, match=r"^fm\.markdown: no text content$"):
        loader.run(write(tmp_path / "fm.markdown", "---\ntitle: Only metadata\n---\n\n"))


def test_bad_sidecar_yaml(tmp_path: Path, loader: DocumentLoader) -> None:
    md = write(tmp_path / "a.md", "# A\n\ntext.")
    write(tmp_path / "a.md.meta.yaml", "product: [oops\n")
    with pytest.raises(LoadError, match=r"^a\.md: invalid YAML in a\.md\.meta\.yaml"):
        loader.run(md)


# ------------------------------------------------------------------------------------------- Uploads


def test_upload_bytes_use_the_file_name(tmp_path: Path, loader: DocumentLoader) -> None:
    data = ("# 掛失\n\n" + ZH_HANT).encode("big5")
    doc = loader.run(Path("掛失說明.md"), data=data, filename="掛失說明.md", meta={"product": "card"})
    assert doc.source == "掛失說明.md"
    assert doc.title == "掛失"
    assert doc.meta == {"product": "card"}
    assert doc.blocks[-1].text == ZH_HANT


def test_upload_is_not_read_from_disk_nor_given_a_sidecar(tmp_path: Path, loader: DocumentLoader) -> None:
    write(tmp_path / "a.md", "# On disk\n\nDisk text.")
    write(tmp_path / "a.md.meta.yaml", "product: disk\n")
    doc = loader.run(tmp_path / "a.md", data=b"# Uploaded\n\nUploaded text.", filename="a.md")
    assert doc.title == "Uploaded"
    assert doc.meta == {}


# -------------------------------------------------------------------------------------------- Errors


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("empty.md", b""),
        ("blank.txt", b"  \n\t\r\n"),
        ("empty.pdf", b""),
        ("empty.csv", b"\n\n"),
        ("e.docx", b""),
    ],
)
def test_empty_files(tmp_path: Path, loader: DocumentLoader, name: str, content: bytes) -> None:
    with pytest.raises(LoadError) as err:
        loader.run(write(tmp_path / name, content))
    assert str(err.value) == f"{name}: empty file"


def test_whitespace_only_in_a_chinese_encoding_is_empty(tmp_path: Path, loader: DocumentLoader) -> None:
    with pytest.raises(LoadError, match=r"^w\.txt: empty file$"):
        loader.run(write(tmp_path / "w.txt", "\u3000\u3000\n", encoding="gb18030"))


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("image.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00"),
        ("data.txt", bytes(range(256)) * 4),
        ("sheet.csv", b"question,answer\n\x00\x01\x02\x03,\x04\x05\n"),
    ],
)
def test_binary_content_in_text_formats(tmp_path: Path, loader: DocumentLoader, name: str, content: bytes) -> None:
    with pytest.raises(LoadError) as err:
        loader.run(write(tmp_path / name, content))
    assert str(err.value) == f"{name}: binary or undecodable content"


def test_html_with_no_text(tmp_path: Path, loader: DocumentLoader) -> None:
    with pytest.raises(LoadError, match=r"^s\.html: no text content$"):
        loader.run(write(tmp_path / "s.html", "<html><script>var a = 1;</script></html>"))


@pytest.mark.parametrize(("name", "shown"), [("deck.pptx", "'.pptx'"), ("Makefile", "(no extension)")])
def test_unsupported_type(tmp_path: Path, loader: DocumentLoader, name: str, shown: str) -> None:
    with pytest.raises(UnsupportedTypeError) as err:
        loader.run(write(tmp_path / name, b"anything"))
    assert str(err.value) == (
        f"{name}: unsupported file type {shown} (supported: .md, .markdown, .txt, .html, .htm, .pdf, .docx, .csv)"
    )
    assert err.value.status_code == 415


def test_too_large(tmp_path: Path) -> None:
    path = write(tmp_path / "big.txt", "x" * 101)
    with pytest.raises(TooLargeError) as err:
        DocumentLoader(max_bytes=100).run(path)
    assert str(err.value) == "big.txt: 101 bytes exceeds the limit of 100 bytes"
    with pytest.raises(TooLargeError, match="up.md: 101 bytes"):
        DocumentLoader(max_bytes=100).run(Path("up.md"), data=b"y" * 101, filename="up.md")
    assert DocumentLoader(max_bytes=101).run(path).text == "x" * 101


def test_missing_file(tmp_path: Path, loader: DocumentLoader) -> None:
    with pytest.raises(LoadError, match=r"^gone\.md: file not found$"):
        loader.run(tmp_path / "gone.md", base_dir=tmp_path)


@pytest.mark.parametrize("bad", [0, -5, 1.5, "10", True])
def test_loader_rejects_bad_max_bytes(bad: object) -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        DocumentLoader(max_bytes=bad)  # type: ignore[arg-type]


# -------------------------------------------------------------------------------------- Folder walks


def test_iter_document_paths_walks_and_skips(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    for rel in [
        "b/fees.md", "a/loss.pdf", "a/loss.pdf.meta.yaml", "README.md", "sub/README.md", "userdict.txt",
        "notes.txt", "rules/core.yaml", "rules/extra.md", "playbooks/loss.md", "calls/c1.jsonl",
        "tools/gen.py", "gen.py", ".hidden.md", ".git/config", "deck.pptx", "a/~$draft.docx", "faq.csv",
        "x.yml", "nested/calls/y.md",
    ]:  # fmt: skip
        write(kb / rel, "x")
    explicit = write(tmp_path / "other" / "README.md", "# explicit")

    pairs = iter_document_paths([kb, explicit, kb / "b" / "fees.md"])
    assert [(p.relative_to(b).as_posix(), b) for p, b in pairs] == [
        ("a/loss.pdf", kb),
        ("b/fees.md", kb),
        ("deck.pptx", kb),  # unsupported: returned so that it is reported as a failure
        ("faq.csv", kb),
        ("notes.txt", kb),
        ("README.md", explicit.parent),  # given explicitly
    ]


def test_iter_document_paths_keeps_missing_explicit_files(tmp_path: Path) -> None:
    missing = tmp_path / "nope.md"
    assert iter_document_paths([missing]) == [(missing, tmp_path)]


def test_walk_then_load_reports_relative_sources(tmp_path: Path, loader: DocumentLoader) -> None:
    write(tmp_path / "kb" / "zh" / "a.md", "# 甲\n\n内容。")
    write(tmp_path / "kb" / "en" / "b.txt", "Title\n\nBody.")
    sources = [loader.run(p, base_dir=b).source for p, b in iter_document_paths([tmp_path / "kb"])]
    assert sources == ["en/b.txt", "zh/a.md"]


def test_plain_text_joins_hard_wrapped_lines_but_not_short_ones(tmp_path: Path, loader: DocumentLoader) -> None:
    txt = write(
        tmp_path / "branch.txt",
        "Branch information\n\n"
        "Our branches open from Monday to Friday and the counters close at\n"
        "five in the afternoon, except on public holidays when all branches\n"
        "are closed.\n\n"
        "营业时间 9:00-17:00\n地址 北京路1号\n电话 95588",
    )
    doc = loader.run(txt)
    assert [b.text for b in doc.blocks[1:]] == [
        "Our branches open from Monday to Friday and the counters close at five in the afternoon, "
        "except on public holidays when all branches are closed.",
        "营业时间 9:00-17:00\n地址 北京路1号\n电话 95588",
    ]


def test_wrapped_lines_join_without_spaces_between_chinese_only(tmp_path: Path, loader: DocumentLoader) -> None:
    md = write(tmp_path / "w.md", "# 提前还款\n\n可致电客服热线 95388\n或到任一网点预约，\n办理时须携带身份证件。\n")
    assert loader.run(md).blocks[-1].text == "可致电客服热线 95388 或到任一网点预约，办理时须携带身份证件。"


def test_wrapped_hyphenated_words_keep_their_hyphen(tmp_path: Path, loader: DocumentLoader) -> None:
    md = write(tmp_path / "w.md", "# Insurance\n\nThe cooling-\noff period lasts\n15 days.\n")
    assert loader.run(md).blocks[-1].text == "The cooling-off period lasts 15 days."


def test_table_rows_without_a_header_stay_as_they_are(tmp_path: Path, loader: DocumentLoader) -> None:
    html = write(
        tmp_path / "hours.html",
        "<html><body><h1>Branch hours</h1><table><tr><td>Mon-Fri</td><td>9:00-17:00</td></tr>"
        "<tr><td>Sat</td><td>9:00-12:00</td></tr></table></body></html>",
    )
    rows = [("paragraph", "| Mon-Fri | 9:00-17:00 |"), ("paragraph", "| Sat | 9:00-12:00 |")]
    assert kinds(loader.run(html))[1:] == rows
    table = "| Card | Fee | Note |\n|---|---|---|\n| Gold | 300 |\n| Classic | 0 | waived |\n"
    md = write(tmp_path / "fees.md", "# Fees\n\n" + table)
    paragraphs = [b.text for b in loader.run(md).blocks if b.kind == "paragraph"]
    # a row with another number of cells keeps its cells unnamed rather than naming them wrongly
    assert paragraphs == ["| Gold | 300 |\n| Card: Classic | Fee: 0 | Note: waived |"]
