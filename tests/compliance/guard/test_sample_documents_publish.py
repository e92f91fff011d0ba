"""Every approved sample document passes the ingest scan of the rules in force; the marketing draft does not.

The scan blocks a document that makes a forbidden claim (it waits for review instead of being published).
The knowledge base's fraud guides quote scammers' lines in order to warn about them: a rule that reads such a
description as a claim takes the whole guide out of the index (the eighth round's 涉及洗錢案 pattern did that
to the Taiwan fraud guide, and Taiwan callers were answered from the mainland one).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assist.compliance.guard import Guard
from ingest.loaders import iter_document_paths
from ingest.loaders.loader import DocumentLoader

KB = Path(__file__).resolve().parents[3] / "kb_docs"
DRAFTS = KB / "drafts"


@pytest.fixture(scope="module")
def guard() -> Guard:
    return Guard.from_path(KB / "rules")


def _documents() -> list[Path]:
    return [p for p, _ in iter_document_paths([KB]) if DRAFTS not in p.parents and "guard" not in p.parts]


@pytest.mark.parametrize("path", _documents(), ids=lambda p: str(p.relative_to(KB)))
def test_an_approved_sample_document_is_published(guard: Guard, path: Path) -> None:
    doc = DocumentLoader(isolate=False).run(path, base_dir=KB)
    verdict = guard.check(doc.text, speaker="document")
    assert verdict.action != "block", [(m.category, m.text) for m in verdict.matches]


def test_the_marketing_draft_is_held_for_review(guard: Guard) -> None:
    (draft,) = sorted(DRAFTS.glob("*.md"))
    assert guard.check(DocumentLoader(isolate=False).run(draft).text, speaker="document").action == "block"


def test_a_taiwan_scam_description_is_a_mention(guard: Guard) -> None:
    assert guard.check("歹徒自稱檢察官，稱客戶涉及洗錢案件，要求交付提款卡。", speaker="document").action == "allow"
    assert guard.check("诈骗犯冒充公安，声称您涉嫌洗钱案。", speaker="document").action == "allow"
    # said to the customer, the same accusation is still a threat
    assert guard.check("您的账户涉及洗钱案，必须配合调查。").action == "block"


def test_a_reminder_to_tell_nobody_is_protective_but_secrecy_still_blocks(guard: Guard) -> None:
    assert guard.check("办理完毕后，提醒客户不要向任何人透露。", speaker="document").action == "allow"
    assert guard.check("Remind the customer never to share it with anyone.").action == "allow"
    assert guard.check("这件事不要向任何人透露，连家人也别说。").action == "block"
