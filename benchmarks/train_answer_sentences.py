"""Train the answer-sentence ranker on recorded need turns, measured leave-one-set-out against the hand ranking.

Input: a recording of ``benchmarks.record_answer_turns`` (the composer's input on every labelled need turn of the
development call sets, and the sentence vectors). Each candidate sentence of a turn is labelled by whether it
carries one of the turn's labelled facts (the fact strings are copied from the documents). The model is a
listwise logistic one (a softmax over a turn's candidates, trained to put a fact-carrying sentence first) over
`assist.calls.sentence_rank.FEATURES`, with an L2 penalty, and (``--meaning-l2``) the meaning interactions q⊙s of the
turn's and each sentence's recorded e5 vectors, with their own penalty (file version 2; round 10 ships 300).

Measured honestly: for each set, a model trained on the other sets re-composes that set's turns; the answers
are judged as ``bench_calls_natural`` judges them (the fact carried; the first citation's document), pooled,
side by side with the hand ranking re-composed from the same input. With ``--write``, a model trained on every
set is written to the ranker file, with those figures in its metadata.

Usage:
    .venv/bin/python -m benchmarks.train_answer_sentences --turns /tmp/answer_turns.pkl [--l2 1.0] \
        [--meaning-l2 300] [--every-question] [--write]
    (the shipped file: --meaning-l2 300 --write; see docs/benchmarks.md, round 10)
"""

from __future__ import annotations

import argparse
import pickle
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.bench_calls_natural import ROOT, _norm


def _composer(cache: dict[str, np.ndarray], chunks: dict[int, Any] | None = None, max_document: int = 12) -> Any:
    """The engine's composer over the recorded sentence vectors and (when recorded) the index's passages."""
    from types import SimpleNamespace

    from assist.calls.compose import ExtractiveComposer
    from assist.calls.playbooks import Playbooks
    from assist.calls.sentences import DocumentPassages, SentenceVectors

    dim = next(iter(cache.values())).shape[0] if cache else 384
    vectors = SentenceVectors(lambda texts: np.zeros((len(texts), dim), np.float32), max_entries=10**6)
    vectors._cache.update(cache)
    index = SimpleNamespace(chunks=chunks or {})
    return ExtractiveComposer(
        expand=Playbooks(ROOT / "kb_docs" / "playbooks").expand,
        sentence_vectors=vectors,
        document_passages=DocumentPassages(lambda: index) if chunks else None,
        max_document=max_document,
    )


def _carries(text: str, facts: list[Any]) -> bool:
    forms = [f if isinstance(f, list) else [f] for f in facts]
    norm = _norm(text)
    return any(_norm(alt) in norm for alts in forms for alt in alts)


Table = tuple[np.ndarray, np.ndarray | None, np.ndarray]  # features, meaning rows (q⊙s; None), labels


def tables(composer: Any, turns: list[dict[str, Any]], *, every_question: bool = True) -> list[Table | None]:
    """Per turn: the features, meaning rows and labels of the candidates the choice sees (after the one-policy
    filter); None for a turn without candidates or (not `every_question`) one the learned order is not for."""
    from assist.calls.compose import Question
    from assist.calls.sentence_rank import learned_for, meaning_rows

    out: list[Table | None] = []
    for t in turns:
        inp = t["input"]
        if inp is None or not inp["results"]:
            out.append(None)
            continue
        passages = composer.widen(composer.passages(inp["results"]), inp["vector"])
        asked = Question(inp["focus"] or inp["query"], inp["vector"])
        cands, feats = composer.sentence_table(
            query=inp["query"], passages=passages, language=inp["language"], asked=asked, focus=inp["focus"]
        )
        if not cands or not learned_for(asked.kinds, every_question=every_question):
            out.append(None)
            continue
        mask = composer.one_policy(cands, passages, inp["language"], one_document=True)
        keep = [i for i, k in enumerate(mask) if k]
        labels = np.array([_carries(cands[i][3], t["facts"]) for i in keep], np.float64)
        meaning = meaning_rows(inp["vector"], [cands[i][3] for i in keep], composer.sentence_vectors)
        out.append((feats[keep].astype(np.float64), meaning, labels))
    return out


def _standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = np.nanmean(x, axis=0)
    scale = np.nanstd(x, axis=0)
    scale[~(scale > 1e-6)] = 1.0
    return mean, scale


def fit(data: list[Table], l2: float, meaning_l2: float | None = None, every_question: bool = False) -> Any:
    """A listwise logistic model on turns with at least one fact-carrying candidate (and one without); with
    `meaning_l2`, the meaning interactions too (their own, stronger L2 penalty)."""
    from scipy.optimize import minimize

    from assist.calls.sentence_rank import Meaning, SentenceRanker

    groups = [d for d in data if d[2].any() and not d[2].all()]
    with_meaning = meaning_l2 is not None and all(m is not None for _, m, _ in groups)
    mean, scale = _standardise(np.vstack([x for x, _, _ in groups]))
    zs = [((x - mean) / scale, y) for x, _, y in groups]
    penalty = np.full(len(mean), l2)
    if with_meaning:
        m_mean, m_scale = _standardise(np.vstack([m for _, m, _ in groups if m is not None]))
        zs = [
            (np.hstack([z, np.nan_to_num((m - m_mean) / m_scale)]), y)
            for (z, y), (_, m, _) in zip(zs, groups, strict=True)
            if m is not None
        ]
        penalty = np.concatenate([penalty, np.full(len(m_mean), meaning_l2)])

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.5 * float(penalty @ (w * w)), penalty * w
        for z, y in zs:
            s = z @ w
            s -= s.max()
            p = np.exp(s)
            p /= p.sum()
            pos = float((p * y).sum())
            total -= np.log(max(pos, 1e-300))
            q = p * y / max(pos, 1e-300)
            grad = grad + z.T @ (p - q)
        return total, grad

    res = minimize(loss, np.zeros(len(penalty)), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    n = len(mean)
    meaning = Meaning(res.x[n:], m_mean, m_scale) if with_meaning else None
    return SentenceRanker(res.x[:n], mean, scale, meaning=meaning, every_question=every_question)


def judge(composer: Any, turns: list[dict[str, Any]], ranker: Any) -> list[tuple[bool, bool]]:
    """(fact carried, first citation right) per turn, re-composed with `ranker` (None: the hand ranking)."""
    composer.ranker = ranker
    out = []
    for t in turns:
        inp = t["input"]
        if inp is None:
            out.append((False, False))
            continue
        comp = composer.run(
            query=inp["query"],
            results=inp["results"],
            language=inp["language"],
            focus=inp["focus"],
            vector=inp["vector"],
        )
        first = comp.citations[0].get("title") if comp.citations else None
        out.append((_carries(comp.answer, t["facts"]), first in t["documents"]))
    composer.ranker = None
    return out


def _where_one(composer: Any, t: dict[str, Any], by_title: dict[str, list[str]], answer: str, first: Any) -> str:
    """Where the fact of one turn is, for `where`."""
    from assist.calls.compose import split_sentences

    facts, inp = t["facts"], t["input"]
    if _carries(answer, facts):
        return "answer carries the fact"
    if inp is None or not inp["results"]:
        return "no suggestion"
    head = "right document first" if first in t["documents"] else "wrong document first"
    handed = composer.passages(inp["results"])
    in_doc = [tx for title in t["documents"] for tx in by_title.get(title, [])]
    if any(_carries(s, facts) for p in handed for s in split_sentences(p.text or p.snippet)):
        return f"{head}: the fact's sentence is among the composer's input"
    if any(_carries(s, facts) for p in inp["results"] for s in split_sentences(p.text or p.snippet)):
        return f"{head}: the fact's passage was handed over, cut by passages()"
    if any(_carries(s, facts) for tx in in_doc for s in split_sentences(tx)):
        return f"{head}: the fact is in another passage of the right document, not handed over"
    if any(_carries(tx, facts) for tx in in_doc):
        return f"{head}: in a passage of the right document, cut by the sentence split"
    if _carries("".join(in_doc), facts):
        return f"{head}: across two passages of the right document"
    return f"{head}: the fact is not in the right document's passages"


def where(composer: Any, turns: list[dict[str, Any]], chunks: dict[int, Any], ranker: Any) -> str:
    """Per set, where the fact is for each turn the answer (re-composed with `ranker`) misses: a markdown table."""
    by_title: defaultdict[str, list[str]] = defaultdict(list)
    for _, meta in sorted(chunks.items()):
        by_title[meta.title].append(meta.text)
    composer.ranker = ranker
    rows: defaultdict[str, defaultdict[str, int]] = defaultdict(lambda: defaultdict(int))
    for t in turns:
        inp = t["input"]
        answer, first = "", None
        if inp is not None and inp["results"]:
            comp = composer.run(
                query=inp["query"],
                results=inp["results"],
                language=inp["language"],
                focus=inp["focus"],
                vector=inp["vector"],
            )
            answer, first = comp.answer, (comp.citations[0].get("title") if comp.citations else None)
        key = _where_one(composer, t, by_title, answer, first)
        rows[key][t["set"]] += 1
        rows[key]["all"] += 1
    composer.ranker = None
    sets = [*sorted({t["set"] for t in turns}), "all"]
    lines = ["| where the fact is | " + " | ".join(sets) + " |", "|---" * (len(sets) + 1) + "|"]
    for key in sorted(rows, key=lambda k: -rows[k]["all"]):
        lines.append(f"| {key} | " + " | ".join(str(rows[key][s]) for s in sets) + " |")
    return "\n".join(lines)


def loso(composer: Any, turns: list[dict[str, Any]], data: list[Table | None], args: Any) -> list[tuple[bool, bool]]:
    """(fact carried, first citation right) per turn, each set re-composed by a model trained on the others."""
    learned: list[tuple[bool, bool]] = [(False, False)] * len(turns)
    for held in sorted({t["set"] for t in turns}):
        train = [d for t, d in zip(turns, data, strict=True) if t["set"] != held and d is not None]
        model = fit(train, args.l2, args.meaning_l2, args.every_question)
        idx = [i for i, t in enumerate(turns) if t["set"] == held]
        for i, r in zip(idx, judge(composer, [turns[i] for i in idx], model), strict=True):
            learned[i] = r
    return learned


def table_lines(turns: list[dict[str, Any]], hand: list[tuple[bool, bool]], learned: list[tuple[bool, bool]]) -> str:
    """Per set and pooled: facts carried and right first documents, hand → learned (out of set)."""
    rows: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for t, h, lr in zip(turns, hand, learned, strict=True):
        for key in (t["set"], "pooled"):
            row = rows[key]
            row[0] += 1
            row[1] += h[0]
            row[2] += lr[0]
            row[3] += h[1]
            row[4] += lr[1]
    lines = ["| set (need turns with facts) | fact: hand → learned (out of set) | right document: hand → learned |"]
    lines.append("|---|---|---|")
    for key in [*sorted({t["set"] for t in turns}), "pooled"]:
        n, hf, lf, hd, ld = rows[key]
        lines.append(f"| {key} ({n}) | {hf} → {lf} ({hf / n:.3f} → {lf / n:.3f}) | {hd} → {ld} |")
    wins = sum(rows[k][2] > rows[k][1] for k in rows if k != "pooled")
    losses = sum(rows[k][2] < rows[k][1] for k in rows if k != "pooled")
    lines.append(f"held sets where learned beats hand: {wins}, loses: {losses}, of {len(rows) - 1}")
    return "\n".join(lines)


def _args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--turns", type=Path, required=True)
    ap.add_argument("--l2", type=float, default=1.0)
    ap.add_argument(
        "--meaning-l2",
        type=float,
        default=None,
        help="L2 penalty of the meaning interactions q⊙s (the turn's and the sentence's e5 vectors); none: no such",
    )
    ap.add_argument("--every-question", action="store_true", help="the learned order for every question")
    ap.add_argument(
        "--max-document",
        type=int,
        default=0,
        help="the top document's passages not retrieved that are scored too (0: only those retrieved, as the engine)",
    )
    ap.add_argument(
        "--where",
        action="store_true",
        help="only say where the fact is for every turn the shipped ranker's answer misses, per set, and stop",
    )
    ap.add_argument("--write", action="store_true", help="write the model trained on every set to the ranker file")
    return ap.parse_args()


def main() -> None:
    args = _args()
    sys.path.insert(0, str(ROOT))
    from assist.calls.sentence_rank import RANKER_FILE

    target = ROOT / "kb_docs" / "playbooks" / RANKER_FILE
    with args.turns.open("rb") as fh:
        rec = pickle.load(fh)  # noqa: S301 (our own recording)
    turns = rec["turns"]
    composer = _composer(rec["sentence_vectors"], rec.get("chunks"), args.max_document)
    if args.where:
        from assist.calls.sentence_rank import load_ranker

        print(where(composer, turns, rec.get("chunks") or {}, load_ranker(target)))  # noqa: T201
        return
    data = tables(composer, turns, every_question=args.every_question)
    ceiling = sum(d is not None and bool(d[2].any()) for d in data)
    print(  # noqa: T201
        f"a perfect choice among the candidates of the turns the learned order is for would carry the fact in "
        f"{ceiling} of {len(turns)} turns"
    )
    hand = judge(composer, turns, None)
    same = sum(_carries(t["answer"], t["facts"]) == h[0] for t, h in zip(turns, hand, strict=True))
    print(f"re-composition reproduces the recorded fact verdict on {same} of {len(turns)} turns")  # noqa: T201
    learned = loso(composer, turns, data, args)
    print(table_lines(turns, hand, learned))  # noqa: T201
    if args.write:
        model = fit([d for d in data if d is not None], args.l2, args.meaning_l2, args.every_question)
        meta = {
            "trained_on": sorted({t["set"] for t in turns}),
            "turns": len(turns),
            "l2": args.l2,
            "meaning_l2": args.meaning_l2,
            "out_of_set_fact": {"hand": sum(h[0] for h in hand), "learned": sum(lr[0] for lr in learned)},
        }
        target.write_text(model.to_json(**meta) + "\n", encoding="utf-8")
        print(f"written {target}")  # noqa: T201


if __name__ == "__main__":
    main()
