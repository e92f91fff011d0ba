"""The labels the document router learns from a labelled turn (benchmarks/train_document_router.preferred).

A writer lists every document that answers a need, often a policy's versions in both languages, best first. The
router learns the one the caller should be answered from: their branch's own policy in their language; else the
documents in their language when the writer put one of those first (an English-speaking Hong Kong caller gets the
English policy that states the Hong Kong rule, whose fee or period they can read); else the branch's policy."""

from __future__ import annotations

from benchmarks.train_document_router import preferred

EN = "Life Insurance - Cooling-off Period and Surrender (Hong Kong and Mainland)"
HK = "人壽保險冷靜期及退保須知（香港分行）"
ZH = "人身保险犹豫期与退保须知"
HK_CARD = "信用卡遺失、凍結及補領（香港分行）"
EN_CARD = "Lost or Stolen Card: Freezing, Replacement and Fees"


def test_an_english_caller_learns_the_english_policy_the_writer_put_first() -> None:
    assert preferred([EN, HK], "en", {HK, HK_CARD}) == [EN]


def test_an_english_caller_learns_the_branch_policy_the_writer_put_first() -> None:
    # the fee or limit is the branch's own, stated only in its Chinese policy
    assert preferred([HK_CARD, EN_CARD], "en", {HK, HK_CARD}) == [HK_CARD]


def test_a_chinese_caller_learns_the_branch_policy_in_their_script() -> None:
    assert preferred([EN, ZH, HK], "zh-Hant", {HK, HK_CARD}) == [HK]
    assert preferred([ZH, EN], "zh-Hans", set()) == [ZH]
