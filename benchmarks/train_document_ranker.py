"""Train the document ranker on recorded need turns, measured leave-one-set-out against the hand ranking.

Input: a recording of ``benchmarks.record_rank_turns`` (the ranking's and the composer's input on every need
turn of the development call sets, and the sentence vectors). Each candidate document of a turn (one with a
passage that passes the relevance gate) is labelled by whether it is one of the turn's labelled documents. The
model is a listwise logistic one (a softmax over a turn's candidate documents, trained to put a labelled one
first) over `assist.calls.doc_rank.FEATURES`, with an L2 penalty.

Measured honestly: for each set, a model trained on the other sets re-ranks that set's turns, which are then
re-composed offline and judged as ``bench_calls_natural`` judges them (the first citation's document; the fact
carried), pooled, side by side with the hand ranking re-run from the same input. The re-run does not feed a
changed citation forward to the call's later turns (the engine does: the side-by-side bench run shows that).
With ``--write``, a model trained on every set is written to the ranker file, with those figures in its metadata.

Usage:
    .venv/bin/python -m benchmarks.train_document_ranker --turns /tmp/rank_turns.pkl [--l2 1.0] [--margin 0] [--write]
"""

from __future__ import annotations

import argparse
import pickle
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.bench_calls_natural import ROOT
from benchmarks.train_answer_sentences import _carries, _composer


class _Spy:
    """Stands in for the document ranker: keeps the evidence it is shown, changes nothing."""

    margin = 0.0

    def __init__(self) -> None:
        self.docs: list[Any] = []

    def choose(self, docs: list[Any], *, elliptical: bool, english: bool) -> None:
        self.docs = list(docs)


def _rankers(doc_ranker: Any) -> tuple[Any, Any]:
    """The two rankers SuggestStage builds (default settings), with `doc_ranker`."""
    from assist.calls.playbooks import Playbooks
    from assist.calls.rank import Ranker
    from assist.config import Settings

    settings = Settings()
    playbooks = Playbooks(ROOT / "kb_docs" / "playbooks")
    weak = min(settings.need_min_answer_score, settings.min_answer_score)
    terms, topics = playbooks.topic_terms, list(playbooks.topics)
    return (
        Ranker(
            min_score=settings.min_answer_score,
            topic_terms=terms,
            in_play_score=weak,
            topics=topics,
            doc_ranker=doc_ranker,
        ),
        Ranker(min_score=weak, topic_terms=terms, in_play_score=weak, topics=topics, doc_ranker=doc_ranker),
    )


def _ranking(rankers: tuple[Any, Any], rec: dict[str, Any]) -> Any:
    """SuggestStage._rank on a recorded input."""
    main, need = rankers
    args = {"query": rec["cq"], "results": rec["results"], "language": rec["language"], "region": rec["region"]}
    ranking = main.run(last_top_chunk=rec["last_top_chunk"], **args)
    if rec["meant"] and (ranking.repeat_only or not ranking.results):
        ranking = (main if ranking.repeat_only else need).run(last_top_chunk=None, **args)
    return ranking


def tables(turns: list[dict[str, Any]]) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """Per turn: the features and labels of the candidate documents that pass the gate."""
    from assist.calls.doc_rank import feature_matrix

    spy = _Spy()
    rankers = _rankers(spy)
    out: list[tuple[np.ndarray, np.ndarray] | None] = []
    for t in turns:
        rec = t["rank"]
        spy.docs = []
        if rec is None:
            out.append(None)
            continue
        _ranking(rankers, rec)
        docs = [d for d in spy.docs if d.passes]
        if len(docs) < 2:
            out.append(None)
            continue
        titles = {r.document_id: r.title for r in rec["results"]}
        feats = feature_matrix(docs, elliptical=rec["cq"].elliptical, english=rec["language"] == "en")
        labels = np.array([titles.get(d.document_id) in t["documents"] for d in docs], np.float64)
        out.append((feats, labels))
    return out


def fit(data: list[tuple[np.ndarray, np.ndarray]], l2: float, margin: float) -> Any:
    """A listwise logistic model on turns with a labelled document and another candidate."""
    from scipy.optimize import minimize

    from assist.calls.doc_rank import DocumentRanker

    groups = [(x, y) for x, y in data if y.any() and not y.all()]
    stacked = np.vstack([x for x, _ in groups])
    mean = stacked.mean(axis=0)
    scale = stacked.std(axis=0)
    scale[scale < 1e-6] = 1.0
    zs = [((x - mean) / scale, y) for x, y in groups]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.5 * l2 * float(w @ w), l2 * w
        for z, y in zs:
            s = z @ w
            s -= s.max()
            p = np.exp(s)
            p /= p.sum()
            pos = float((p * y).sum())
            total -= np.log(max(pos, 1e-300))
            grad = grad + z.T @ (p - p * y / max(pos, 1e-300))
        return total, grad

    res = minimize(loss, np.zeros(stacked.shape[1]), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return DocumentRanker(res.x, mean, scale, margin=margin)


def judge(composer: Any, turns: list[dict[str, Any]], doc_ranker: Any) -> list[tuple[bool, bool, bool]]:
    """(suggested, first citation right, fact carried) per turn, re-ranked with `doc_ranker` and re-composed."""
    from assist.calls.rank import with_sections

    rankers = _rankers(doc_ranker)
    out = []
    for t in turns:
        rec, comp_in = t["rank"], t["compose"]
        if rec is None or comp_in is None:
            out.append((False, False, False))
            continue
        ranking = _ranking(rankers, rec)
        if not ranking.results:
            out.append((False, False, False))
            continue
        top = composer.passages(with_sections(ranking.results, rec["results"]))
        comp = composer.run(results=top, **comp_in)
        first = comp.citations[0].get("title") if comp.citations else None
        fact = bool(t["facts"]) and _carries(comp.answer, t["facts"])
        out.append((first is not None, first in t["documents"], fact))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--turns", type=Path, required=True)
    ap.add_argument("--l2", type=float, default=1.0)
    ap.add_argument("--margin", type=float, default=0.0)
    ap.add_argument("--folds", type=Path, help="write each set's out-of-set model here (document_ranker_wo_<set>.json)")
    ap.add_argument("--changes", action="store_true", help="list the turns whose verdict the learned choice changed")
    ap.add_argument("--write", action="store_true", help="write the model trained on every set to the ranker file")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from assist.calls.doc_rank import RANKER_FILE
    from assist.calls.sentence_rank import load_ranker

    with args.turns.open("rb") as fh:
        rec = pickle.load(fh)  # noqa: S301 (our own recording)
    turns = rec["turns"]
    composer = _composer(rec["sentence_vectors"])
    composer.ranker = load_ranker(ROOT / "kb_docs" / "playbooks" / "answer_sentence_ranker.json")
    data = tables(turns)
    hand = judge(composer, turns, None)
    same = sum(
        (t["first_title"] is not None and t["first_title"] in t["documents"]) == h[1]
        for t, h in zip(turns, hand, strict=True)
    )
    print(f"re-run reproduces the recorded right-document verdict on {same} of {len(turns)} turns")  # noqa: T201
    sets = list(dict.fromkeys(t["set"] for t in turns))
    learned: list[tuple[bool, bool, bool]] = [(False, False, False)] * len(turns)
    for held in sets:
        train = [d for t, d in zip(turns, data, strict=True) if t["set"] != held and d is not None]
        model = fit(train, args.l2, args.margin)
        if args.folds is not None:
            args.folds.mkdir(parents=True, exist_ok=True)
            fold = args.folds / f"document_ranker_wo_{held}.json"
            fold.write_text(
                model.to_json(trained_on=[s for s in sets if s != held], l2=args.l2) + "\n", encoding="utf-8"
            )
        idx = [i for i, t in enumerate(turns) if t["set"] == held]
        for i, r in zip(idx, judge(composer, [turns[i] for i in idx], model), strict=True):
            learned[i] = r
    if args.changes:
        for t, h, lr in zip(turns, hand, learned, strict=True):
            if h[1:] != lr[1:]:
                verdict = ("document " + ("won" if lr[1] else "lost")) if h[1] != lr[1] else "same document"
                fact = "" if h[2] == lr[2] else (", fact won" if lr[2] else ", fact lost")
                print(f"{t['set']} {t['call']} t{t['turn']}: {verdict}{fact}: {t['text'][:60]}")  # noqa: T201
    rows: defaultdict[str, list[int]] = defaultdict(lambda: [0] * 7)
    for t, h, lr in zip(turns, hand, learned, strict=True):
        for key in (t["set"], f"script {t['script']}", "pooled"):
            row = rows[key]
            row[0] += 1
            row[1] += h[1]
            row[2] += lr[1]
            row[3] += bool(t["facts"])
            row[4] += h[2]
            row[5] += lr[2]
            row[6] += h[0] != lr[0]
    lines = ["| set (needs) | right document: hand → learned (out of set) | fact: hand → learned | suggested changed |"]
    lines.append("|---|---|---|---|")
    keys = [*sets, *sorted(k for k in rows if k.startswith("script ")), "pooled"]
    for key in keys:
        n, hd, ld, nf, hf, lf, ch = rows[key]
        lines.append(f"| {key} ({n}) | {hd} → {ld} ({hd / n:.3f} → {ld / n:.3f}) | {hf} → {lf} of {nf} | {ch} |")
    print("\n".join(lines))  # noqa: T201
    if args.write:
        model = fit([d for d in data if d is not None], args.l2, args.margin)
        n, hd, ld, nf, hf, lf, _ = rows["pooled"]
        target = ROOT / "kb_docs" / "playbooks" / RANKER_FILE
        meta = {"trained_on": sets, "turns": n, "l2": args.l2, "out_of_set_right_document": {"hand": hd, "learned": ld}}
        target.write_text(model.to_json(**meta) + "\n", encoding="utf-8")
        print(f"written {target}")  # noqa: T201


if __name__ == "__main__":
    main()
