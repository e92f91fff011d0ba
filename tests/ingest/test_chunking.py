"""Chunker and split_sentences: CJK and English sentences, section paths, packing, overlap, FAQ, pages."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from ingest.chunking import ChunkDraft, Chunker, split_sentences
from ingest.loaders import Block, DocumentLoader, LoadedDocument


def make_doc(blocks: list[Block], title: str = "Doc", file_type: str = "md") -> LoadedDocument:
    return LoadedDocument(
        source="doc.md", title=title, file_type=file_type, blocks=blocks, meta={}, text="", encoding=None
    )


def para(text: str, page: int | None = None) -> Block:
    return Block("paragraph", text, page=page)


def heading(text: str, level: int) -> Block:
    return Block("heading", text, level=level)


# ------------------------------------------------------------------------------------------ Sentences


def test_cjk_sentences_split_on_full_width_punctuation_and_keep_closing_quotes() -> None:
    text = "他说：“我明天去。”然后走了！您的卡片已冻结吗？请先核实身份；再办理挂失。「好的！」謝謝"
    assert split_sentences(text) == [
        "他说：“我明天去。”",
        "然后走了！",
        "您的卡片已冻结吗？",
        "请先核实身份；",
        "再办理挂失。",
        "「好的！」",
        "謝謝",
    ]


def test_cjk_with_ascii_punctuation_and_numbers() -> None:
    assert split_sentences("年利率为2.5%。Visa卡可用!然后;继续。费用为1,000.50元") == [
        "年利率为2.5%。",
        "Visa卡可用!",
        "然后;",
        "继续。",
        "费用为1,000.50元",
    ]


def test_english_abbreviations_and_decimals_do_not_split() -> None:
    text = (
        "Fees vary, e.g. for wires, i.e. SWIFT transfers. Mr. Lee paid 2.5% on Jan. 5. "
        "The U.S. rate is 1.5 now. See No. 5 for details! Is it free? Yes. Call 3 p.m. today, or later."
    )
    assert split_sentences(text) == [
        "Fees vary, e.g. for wires, i.e. SWIFT transfers.",
        "Mr. Lee paid 2.5% on Jan. 5.",
        "The U.S. rate is 1.5 now.",
        "See No. 5 for details!",
        "Is it free?",
        "Yes.",
        "Call 3 p.m. today, or later.",
    ]


def test_english_semicolons_and_parentheses() -> None:
    text = 'Fees apply (see the table). He said "stop." Then he left; we stayed.'
    assert split_sentences(text) == [
        "Fees apply (see the table).",
        'He said "stop."',
        "Then he left; we stayed.",
    ]


def test_line_breaks_end_sentences_and_blank_text_gives_nothing() -> None:
    assert split_sentences("- 核实身份\n- 冻结卡片\n\n  ") == ["- 核实身份", "- 冻结卡片"]
    assert split_sentences("  \n ") == []


# ------------------------------------------------------------------------------------------- Chunker


def test_chunker_validates_arguments() -> None:
    with pytest.raises(ValueError, match="max_chars must be an int >= 80, got 79"):
        Chunker(max_chars=79)
    with pytest.raises(ValueError, match="between 0 and 4, got 5"):
        Chunker(overlap_sentences=5)
    with pytest.raises(ValueError, match="between 0 and 4, got -1"):
        Chunker(overlap_sentences=-1)
    with pytest.raises(ValueError, match="min_chars .* got 480"):
        Chunker(max_chars=480, min_chars=480)
    with pytest.raises(ValueError, match="got '100'"):
        Chunker(max_chars="100")  # type: ignore[arg-type]


def test_section_paths_follow_heading_levels_and_title_is_left_out() -> None:
    doc = make_doc(
        [
            heading("信用卡挂失", 1),
            para("本文说明挂失与补卡。"),
            heading("挂失流程", 2),
            para("请先核实身份。"),
            heading("补卡", 3),
            para("补卡需十元工本费。"),
            heading("注意事项", 2),
            para("挂失后旧卡作废。"),
            heading("附录", 1),
            heading("费用表", 2),
            para("年费全免。"),
            heading("empty section", 2),
        ],
        title="信用卡挂失",
    )
    chunks = Chunker(min_chars=0).run(doc)
    assert [(c.section, c.text) for c in chunks] == [
        ("", "本文说明挂失与补卡。"),
        ("挂失流程", "请先核实身份。"),
        ("挂失流程 > 补卡", "补卡需十元工本费。"),
        ("注意事项", "挂失后旧卡作废。"),
        ("附录 > 费用表", "年费全免。"),
    ]
    assert [c.position for c in chunks] == [0, 1, 2, 3, 4]


def test_first_heading_different_from_title_stays_in_path() -> None:
    doc = make_doc(
        [heading("Card loss", 1), para("Call us at once."), heading("Card fees", 1), para("No annual fee.")],
        title="Cards",
    )
    assert [c.section for c in Chunker(min_chars=0).run(doc)] == ["Card loss", "Card fees"]


def test_a_lone_top_heading_is_taken_as_the_title() -> None:
    doc = make_doc(
        [heading("2024年返现活动", 1), para("活动已结束。"), heading("活动内容", 2), para("境外消费返现百分之五。")],
        title="2024年返现活动（已结束）",
    )
    assert [c.section for c in Chunker(min_chars=0).run(doc)] == ["", "活动内容"]


def test_title_comparison_ignores_case_and_spaces() -> None:
    doc = make_doc([heading("Card  Loss", 1), para("Text."), heading("Fees", 1), para("More.")], title="card loss")
    assert [c.section for c in Chunker(min_chars=0).run(doc)] == ["", "Fees"]


def test_title_heading_is_only_dropped_at_the_start() -> None:
    doc = make_doc([para("Intro text here."), heading("Guide", 1), para("Body text here.")], title="Guide")
    assert [c.section for c in Chunker(min_chars=0).run(doc)] == ["", "Guide"]


def _sentences(n: int, lang: str) -> str:
    if lang == "zh":
        return "".join(f"第{i}条规定客户应在办理业务前核实身份并确认交易金额。" for i in range(n))
    return " ".join(f"Rule {i} says the customer must verify identity before any transfer." for i in range(n))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_packing_respects_max_chars_and_keeps_sentences_whole(lang: str) -> None:
    text = _sentences(30, lang)
    chunker = Chunker(max_chars=200, overlap_sentences=0)
    chunks = chunker.run(make_doc([heading("Guide", 1), heading("Rules", 2), para(text)], title="Other"))
    sentences = split_sentences(text)
    assert len(chunks) > 3
    assert all(len(c.text) <= 200 for c in chunks)
    assert all(c.section == "Rules" for c in chunks)
    rebuilt = [s for c in chunks for s in split_sentences(c.text)]
    assert rebuilt == sentences  # nothing lost, nothing repeated, no sentence cut


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_overlap_repeats_the_last_sentence_within_a_section(lang: str) -> None:
    text = _sentences(20, lang)
    chunks = Chunker(max_chars=200, overlap_sentences=1).run(make_doc([para(text)]))
    assert len(chunks) >= 3
    for prev, nxt in zip(chunks, chunks[1:], strict=False):
        assert split_sentences(nxt.text)[0] == split_sentences(prev.text)[-1]
    unique = list(dict.fromkeys(s for c in chunks for s in split_sentences(c.text)))
    assert unique == split_sentences(text)


def test_overlap_of_two_sentences() -> None:
    chunks = Chunker(max_chars=200, overlap_sentences=2).run(make_doc([para(_sentences(12, "en"))]))
    assert split_sentences(chunks[1].text)[:2] == split_sentences(chunks[0].text)[-2:]


def test_overlap_never_crosses_sections_and_single_chunk_sections_have_none() -> None:
    doc = make_doc([heading("A", 1), para(_sentences(8, "zh")), heading("B", 1), para("短段落，只有一句话而已。")])
    chunks = Chunker(max_chars=120, overlap_sentences=1).run(doc)
    b_chunks = [c for c in chunks if c.section == "B"]
    assert [c.text for c in b_chunks] == ["短段落，只有一句话而已。"]
    assert all(c.section in {"A", "B"} for c in chunks)


def test_long_sentence_is_split_at_commas() -> None:
    clauses = [f"第{i}项费用包括账户管理费和短信通知费" for i in range(20)]
    sentence = "，".join(clauses) + "。"
    chunks = Chunker(max_chars=100, overlap_sentences=0).run(make_doc([para(sentence)]))
    assert len(chunks) > 2
    assert all(len(c.text) <= 100 for c in chunks)
    assert all(c.text.endswith(("，", "。")) for c in chunks)
    assert "".join(c.text for c in chunks) == sentence


def test_long_english_sentence_split_at_commas_not_in_numbers() -> None:
    sentence = ", ".join(f"a fee of 1,000 dollars applies to account type {i}" for i in range(10)) + "."
    chunks = Chunker(max_chars=120, overlap_sentences=0).run(make_doc([para(sentence)]))
    assert all(len(c.text) <= 120 for c in chunks)
    assert all("1,000 dollars" in c.text for c in chunks)
    assert " ".join(c.text for c in chunks) == sentence


def test_sentence_without_commas_is_hard_cut() -> None:
    sentence = "挂" * 250 + "。"
    chunks = Chunker(max_chars=100, overlap_sentences=1).run(make_doc([para(sentence)]))
    assert [len(c.text) for c in chunks] == [100, 100, 51]
    assert "".join(c.text for c in chunks) == sentence  # hard cuts are not overlapped (they would not fit)


def test_english_hard_cut_prefers_spaces() -> None:
    sentence = " ".join(["word"] * 60)
    chunks = Chunker(max_chars=100, overlap_sentences=0).run(make_doc([para(sentence)]))
    assert all(len(c.text) <= 100 for c in chunks)
    assert all(set(c.text.split()) == {"word"} for c in chunks)


def test_tiny_trailing_fragment_merges_into_previous_chunk_of_the_same_section() -> None:
    text = _sentences(6, "zh") + "谢谢。"  # 26 characters a sentence: three fill a chunk of 80
    no_merge = Chunker(max_chars=80, overlap_sentences=0, min_chars=0).run(make_doc([para(text)]))
    merged = Chunker(max_chars=80, overlap_sentences=0, min_chars=20).run(make_doc([para(text)]))
    assert no_merge[-1].text == "谢谢。"
    assert len(merged) == len(no_merge) - 1
    assert merged[-1].text.endswith("确认交易金额。谢谢。")


def test_tiny_leading_fragment_merges_into_the_next_chunk() -> None:
    long_sentence = "补卡需携带本人有效身份证件到任一网点办理" * 4 + "。"  # 81 characters
    text = "见下表。" + long_sentence + "新卡七日内寄出。"
    merged = Chunker(max_chars=84, overlap_sentences=1, min_chars=20).run(make_doc([para(text)]))
    no_merge = Chunker(max_chars=84, overlap_sentences=1, min_chars=0).run(make_doc([para(text)]))
    assert [c.text for c in no_merge] == ["见下表。", long_sentence, "新卡七日内寄出。"]
    assert [c.text for c in merged] == ["见下表。" + long_sentence + "新卡七日内寄出。"]
    assert len(merged[0].text) <= 84 + 20


def test_merging_never_grows_a_chunk_past_max_plus_min() -> None:
    a, b = "补" * 79 + "。", "卡" * 79 + "。"  # 80 characters each
    chunks = Chunker(max_chars=80, overlap_sentences=0, min_chars=3).run(make_doc([para(f"好。{a}行。{b}")]))
    assert [c.text for c in chunks] == [f"好。{a}", f"行。{b}"]  # "行。" cannot join the first: 84 > 83


def test_tiny_section_is_kept_on_its_own() -> None:
    doc = make_doc([heading("A", 1), para("Long enough first section text."), heading("B", 1), para("Tiny.")])
    assert [(c.section, c.text) for c in Chunker(min_chars=20).run(doc)][-1] == ("B", "Tiny.")


def test_list_items_keep_their_own_lines() -> None:
    doc = make_doc(
        [para("- 3 年内提前还款收取 1% 违约金。\n- 满 3 年后不收取违约金。\n- Step 3 - Confirm. Then log it.")]
    )
    assert (
        Chunker().run(doc)[0].text
        == "- 3 年内提前还款收取 1% 违约金。\n- 满 3 年后不收取违约金。\n- Step 3 - Confirm. Then log it."
    )


def test_paragraphs_of_a_section_are_joined_with_line_breaks() -> None:
    doc = make_doc([para("第一段第一句。第一段第二句。"), para("Second paragraph. Still second."), para("- 列表项")])
    assert Chunker().run(doc)[0].text == "第一段第一句。第一段第二句。\nSecond paragraph. Still second.\n- 列表项"


def test_faq_blocks_are_one_chunk_each() -> None:
    doc = make_doc(
        [
            heading("卡片", 1),
            Block("qa", "请立即挂失。" * 100, question="信用卡丢了怎么办？"),
            Block("qa", "Use the app.", question="How do I freeze my card?"),
            heading("存款", 1),
            Block("qa", "最高五十万元。", question="存款保险保多少？"),
        ],
        title="faq",
        file_type="csv",
    )
    chunks = Chunker(max_chars=100).run(doc)
    assert [(c.section, c.text) for c in chunks] == [
        ("卡片 > 信用卡丢了怎么办？", "信用卡丢了怎么办？\n" + "请立即挂失。" * 100),
        ("卡片 > How do I freeze my card?", "How do I freeze my card?\nUse the app."),
        ("存款 > 存款保险保多少？", "存款保险保多少？\n最高五十万元。"),
    ]
    assert len(chunks[0].text) > 100  # an FAQ pair is never split


def test_faq_without_sections_uses_the_question_as_section() -> None:
    doc = make_doc([Block("qa", "每日五十萬元。", question="轉帳限額是多少？")], title="faq", file_type="csv")
    assert Chunker().run(doc) == [ChunkDraft("轉帳限額是多少？\n每日五十萬元。", "轉帳限額是多少？", 0, None)]


def test_page_is_that_of_the_first_sentence() -> None:
    doc = make_doc(
        [para("Page one sentence. Another one.", page=1), para("Page two sentence.", page=2)], file_type="pdf"
    )
    assert [(c.page, c.text) for c in Chunker().run(doc)] == [
        (1, "Page one sentence. Another one.\nPage two sentence.")
    ]
    split = Chunker(max_chars=80, overlap_sentences=0).run(
        make_doc([para(_sentences(3, "en"), page=1), para(_sentences(3, "en"), page=2)], file_type="pdf")
    )
    assert [c.page for c in split] == [1, 1, 1, 2, 2, 2]


def test_pdf_end_to_end_carries_pages(tmp_path: Path) -> None:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    for title, body in [("Prepayment", "You may prepay after 12 months."), ("Fees", "A fee of 1% applies.")]:
        c.setFont("Helvetica", 11)
        c.drawString(60, 780, title)
        c.drawString(60, 760, body)
        c.showPage()
    c.save()
    path = tmp_path / "loan.pdf"
    path.write_bytes(buf.getvalue())
    doc = DocumentLoader().run(path)
    chunks = Chunker().run(doc)
    assert [(c.section, c.page, c.text) for c in chunks] == [
        ("", 1, "You may prepay after 12 months."),  # "Prepayment" is the title
        ("Fees", 2, "A fee of 1% applies."),
    ]


def test_markdown_end_to_end_traditional_chinese(tmp_path: Path) -> None:
    path = tmp_path / "loss.md"
    path.write_text(
        "# 信用卡掛失\n\n## 掛失流程\n\n請立即致電客服。掛失後卡片凍結！\n\n### 補卡\n\n補卡手續費為一百元。",
        encoding="big5",
    )
    chunks = Chunker().run(DocumentLoader().run(path))
    assert [(c.section, c.text) for c in chunks] == [
        ("掛失流程", "請立即致電客服。掛失後卡片凍結！"),
        ("掛失流程 > 補卡", "補卡手續費為一百元。"),
    ]


def test_output_is_deterministic() -> None:
    doc = make_doc([heading("A", 1), para(_sentences(20, "zh")), heading("B", 2), para(_sentences(20, "en"))])
    chunker = Chunker(max_chars=150)
    first = chunker.run(doc)
    assert first == chunker.run(doc) == Chunker(max_chars=150).run(doc)
    assert [c.position for c in first] == list(range(len(first)))


def test_empty_document_gives_no_chunks() -> None:
    assert Chunker().run(make_doc([heading("Only a heading", 1)])) == []
