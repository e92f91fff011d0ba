"""Train the document router on labelled calls, measured leave-one-set-out against the ranking alone.

Replays the given call sets through the engine `assist serve` builds (turn model on, router off) and keeps, per
customer need turn labelled with its documents, what the router would see (the turn's e5 vector, the previous customer
turn's, the agent's last turn's as the step reading embedded it, the caller's region as the call read it) and what the
ranking chose (the titles past the gate, in order, and the titles retrieved). The router (assist/calls/doc_route.py)
is a multinomial logistic model over `doc_route.features`, trained with one sample per labelled document it should
choose (weighted 1/n for n): the caller's branch's own policy where one is labelled, else those in the caller's
language, else all.

Measured honestly: for each set, a router trained on the other sets re-chooses that set's first document
(`doc_route.choose`); pooled, side by side with the ranking's own first document (a turn without a suggestion
counts as wrong in both). With ``--write``, a router trained on every set is written to the playbooks folder,
with those figures in its metadata.

Usage:
    .venv/bin/python -m benchmarks.train_document_router --data /tmp/router-data \
        benchmarks/data/natural_calls.jsonl benchmarks/data/spent/natural_calls_*.jsonl \
        benchmarks/data/train/natural_calls_*.jsonl [--c 300] [--write]

Never give it a locked set (benchmarks/data/holdout/): what it records is training data.
"""

from __future__ import annotations

import argparse
import json
import pickle
import re
import sys
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np

from assist.knowledge.retrieval import chunk_result
from benchmarks.bench_calls_natural import ROOT, _norm

_HAN = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]{3,}")


def record(engine: Any, calls: list[dict[str, Any]], set_name: str, out: list[dict[str, Any]]) -> None:
    """Every labelled need turn of `calls`: the router's input and the ranking's choice."""
    from assist.calls.doc_route import candidates

    stage = engine.suggester
    seen: list[dict[str, Any]] = []
    previous: dict[str, np.ndarray] = {}
    original = stage._routed

    def spy(state: Any, ranking: Any, results: Any, vector: Any, *, need: bool = False) -> Any:
        if vector is not None:
            passed, found = candidates(ranking.results, results, state.region)
            index = stage.retrieval.retriever.index
            titles = {m.title for m in index.chunks.values()}
            allowed = sorted(t for t in titles if not stage.titled.branch_of(index, t, state.region))
            seen.append(
                {
                    "vector": np.asarray(vector, np.float32),
                    "previous": previous.get(state.call_id),
                    "agent": stage.previous.agent(state.call_id),
                    "region": state.region,
                    "passed": passed if not ranking.repeat_only else [],
                    "found": found,
                    "allowed": allowed,
                }
            )
            previous[state.call_id] = np.asarray(vector, np.float32)
        return original(state, ranking, results, vector, need=need)

    stage._routed = spy
    try:
        for call in calls:
            call_id = engine.start_call()
            for turn in call["turns"]:
                seen.clear()
                result = engine.handle_turn(call_id, speaker=turn["speaker"], text=turn["text"])
                if turn["speaker"] != "customer" or not turn.get("need") or not turn.get("documents"):
                    continue
                s = result.suggestion
                first = s.citations[0].get("title") if s is not None and s.citations else None
                row = {"set": set_name, "call": call["id"], "documents": turn["documents"], "first": first}
                row["labels"] = preferred(turn["documents"], call["script"], branch_titles(stage, call.get("region")))
                row["facts"] = [_norm(a) for f in turn.get("facts") or [] for a in (f if isinstance(f, list) else [f])]
                row["carried"] = any(f in _norm(s.answer) for f in row["facts"]) if s is not None else False
                out.append({**row, **(seen[0] if seen else {"vector": None})})
            engine.end_call(call_id)
    finally:
        stage._routed = original


def branch_titles(stage: Any, region: str | None) -> set[str]:
    """The titles of the documents written for the caller's branch alone (Hong Kong, Taiwan; none for the mainland)."""
    from assist.calls.region import branch_only, document_regions

    index = stage.retrieval.retriever.index
    want = {"hk": "HK", "tw": "TW"}.get(str(region).lower())
    if want is None:
        return set()
    return {
        m.title for m in index.chunks.values() if want in document_regions(m.tags) and branch_only(chunk_result(m, 0.0))
    }


def preferred(titles: list[str], script: str, branch: set[str]) -> list[str]:
    """The labelled titles the router learns (a labelled turn lists a policy's versions in both languages): the
    caller's branch's own policy in the caller's language where one is labelled; else, when the writer put a
    document in the caller's language first, those in the caller's language (an English-speaking Hong Kong
    caller answered from the English policy that states the Hong Kong rule, whose facts they can read); else
    the branch's own policy; else those in the caller's language (Chinese or English); else all."""
    chinese = script.startswith("zh")
    own = [t for t in titles if bool(_HAN.search(t)) == chinese or (_HAN.search(t) and _LATIN.search(t))]
    own_branch = [t for t in own if t in branch]
    if own_branch:
        return own_branch
    if titles and titles[0] in own:
        return own
    return [t for t in titles if t in branch] or own or titles


def fit(rows: list[dict[str, Any]], c: float) -> Any:
    """A DocumentRouter trained on `rows` (those with a vector)."""
    from sklearn.linear_model import LogisticRegression

    from assist.calls.doc_route import DocumentRouter, features

    titles = sorted({d for r in rows for d in r["labels"]})
    xs, ys, ws = [], [], []
    for r in rows:
        x = features(r["vector"], r["previous"], r["region"], r.get("agent"))
        for d in r["labels"]:
            xs.append(x)
            ys.append(titles.index(d))
            ws.append(1.0 / len(r["labels"]))
    model = LogisticRegression(C=c, max_iter=5000).fit(np.stack(xs), ys, sample_weight=ws)
    kept = [titles[i] for i in model.classes_]
    return DocumentRouter(tuple(kept), model.coef_.astype(np.float32), model.intercept_.astype(np.float32))


def routed_first(router: Any, r: dict[str, Any]) -> str | None:
    """The first document with the router's choice (as SuggestStage._routed makes it; a document it is sure of
    counts as put first, though the engine may find none of its passages in force)."""
    from assist.calls.doc_route import choose, sure

    if r.get("vector") is None or not r["passed"] or r["first"] is None:
        return r["first"]
    route = router.probabilities(r["vector"], r["previous"], r["region"], r.get("agent"))
    allowed = set(r["allowed"])
    title = sure(route, allowed.__contains__) or choose(route, r["passed"], r["found"])
    return title or r["first"]


def leave_one_set_out(rows: list[dict[str, Any]], c: float) -> dict[str, dict[str, float]]:
    """Per held set and pooled: the ranking's right first document vs the router's, out of set."""
    sets = sorted({r["set"] for r in rows})
    counts: dict[str, Counter[str]] = {s: Counter() for s in [*sets, "all"]}
    for held in sets:
        router = fit([r for r in rows if r["set"] != held and r["vector"] is not None], c)
        for r in rows:
            if r["set"] != held:
                continue
            for key in (held, "all"):
                counts[key]["n"] += 1
                counts[key]["ranking"] += r["first"] in r["documents"]
                counts[key]["routed"] += routed_first(router, r) in r["documents"]
    return _rates(counts, ("ranking", "routed"))


def _rates(counts: dict[str, Counter[str]], fields: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """Per held set and pooled: the turns, and each field's share of them."""
    return {s: {"turns": k["n"], **{f: round(k[f] / k["n"], 3) for f in fields}} for s, k in counts.items() if k["n"]}


def replay(settings: Any, paths: list[Path]) -> dict[str, Any]:
    """The recording of every call set in `paths` (kb_docs/ ingested into the settings' data dir if empty), and
    the knowledge base's sentences with their document titles."""
    from assist.calls.compose import split_sentences
    from assist.services import build_services

    rows: list[dict[str, Any]] = []
    with closing(build_services(settings, ingest_if_empty=True)) as svc:
        for path in paths:
            calls = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
            record(svc.call_engine, calls, path.stem, rows)
        index = svc.call_engine.suggester.retrieval.retriever.index
        kb: dict[str, str] = {}
        for meta in index.chunks.values():
            for sentence in split_sentences(meta.text):
                kb.setdefault(sentence, meta.title)
    return {"rows": rows, "sentences": kb}


def sentence_labels(rows: list[dict[str, Any]], kb: dict[str, str]) -> None:
    """Each row's `sentences`: the knowledge-base sentences that carry one of its facts, in a labelled document."""
    normed = [(s, _norm(s), t) for s, t in kb.items()]
    for r in rows:
        r["sentences"] = sorted({s for s, n, t in normed if t in r["documents"] and any(f in n for f in r["facts"])})


def fit_sentences(rows: list[dict[str, Any]], c: float, kb: dict[str, str]) -> Any:
    """The sentence router: `fit` over the rows' fact-carrying sentences, with each sentence's document."""
    model = fit([{**r, "labels": r["sentences"]} for r in rows if r["sentences"]], c)
    return type(model)(model.titles, model.weights, model.bias, {}, tuple(kb[s] for s in model.titles))


def held_out(rows: list[dict[str, Any]], c: float, held: set[str], shipped: Any) -> dict[str, dict[str, float]]:
    """Sets `held` (by name) left out of training: per set and pooled, the right first document of the ranking
    alone, of the shipped router and of a router trained on every other set."""
    router = fit([r for r in rows if r["set"] not in held and r["vector"] is not None], c)
    counts: dict[str, Counter[str]] = {s: Counter() for s in [*sorted(held), "all"]}
    for r in rows:
        if r["set"] not in held:
            continue
        for key in (r["set"], "all"):
            counts[key]["n"] += 1
            counts[key]["ranking"] += r["first"] in r["documents"]
            counts[key]["shipped"] += shipped is not None and routed_first(shipped, r) in r["documents"]
            counts[key]["retrained"] += routed_first(router, r) in r["documents"]
    return _rates(counts, ("ranking", "shipped", "retrained"))


def sentences_out_of_set(rows: list[dict[str, Any]], c: float, kb: dict[str, str]) -> dict[str, int]:
    """Leave-one-set-out: turns whose answer the pinned sentences would lead (in the recorded first document),
    those where one carries a fact, and the net facts gained over the recorded answers."""
    from assist.calls.doc_route import pinned

    out = Counter()
    for held in sorted({r["set"] for r in rows}):
        router = fit_sentences([r for r in rows if r["set"] != held and r["vector"] is not None], c, kb)
        for r in rows:
            if r["set"] != held or r["vector"] is None or not r["first"] or not r["facts"]:
                continue
            route = router.probabilities(r["vector"], r["previous"], r["region"], r.get("agent"))
            pins = pinned(router, route, r["first"])
            if not pins:
                continue
            hit = any(p in r["sentences"] for p in pins)
            out["pinned"] += 1
            out["pin_carries"] += hit
            out["net_gain"] += hit - r["carried"]
    out["turns"] = sum(1 for r in rows if r["facts"])
    return dict(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("calls", nargs="+", type=Path)
    ap.add_argument("--data", type=Path, required=True, help="data directory (kb_docs/ ingested if empty)")
    # 300 out of set on 40 sets (round 13; 100 on 24 sets): more sets, less regularisation (docs/benchmarks.md)
    ap.add_argument("--c", type=float, default=300.0, help="inverse L2 strength of the logistic model")
    ap.add_argument("--write", action="store_true", help="write the router trained on every set")
    ap.add_argument("--turns", type=Path, help="keep the recording here (and read it back instead of replaying)")
    ap.add_argument(
        "--held-out",
        nargs="+",
        default=[],
        metavar="SET",
        help="instead of leave-one-set-out: train on the other sets and report these (file stems) beside the shipped"
        " router",
    )
    args = ap.parse_args()
    if any("holdout" in p.parts for p in args.calls):
        raise SystemExit("locked sets are not training data")
    sys.path.insert(0, str(ROOT))
    from assist.config import Settings

    settings = Settings(data_dir=args.data, embedders=["minilm", "e5"], turn_model="on", document_router="off")
    if args.turns and args.turns.exists():
        with args.turns.open("rb") as fh:
            recording: dict[str, Any] = pickle.load(fh)
    else:
        recording = replay(settings, args.calls)
        if args.turns:
            with args.turns.open("wb") as fh:
                pickle.dump(recording, fh)
    rows, kb = recording["rows"], recording["sentences"]
    sentence_labels(rows, kb)
    if args.held_out:
        from assist.calls.doc_route import load_router

        shipped = load_router(settings.playbooks_path / "document_router.npz")
        print("| held set | turns | ranking | shipped router | retrained |\n|---|---|---|---|---|")  # noqa: T201
        for s, f in held_out(rows, args.c, set(args.held_out), shipped).items():
            print(f"| {s} | {f['turns']} | {f['ranking']} | {f['shipped']} | {f['retrained']} |")  # noqa: T201
        return
    figures = leave_one_set_out(rows, args.c)
    print("| held set | turns | ranking | routed |\n|---|---|---|---|")  # noqa: T201
    for s, f in figures.items():
        print(f"| {s} | {f['turns']} | {f['ranking']} | {f['routed']} |")  # noqa: T201
    if args.write:
        router = fit([r for r in rows if r["vector"] is not None], args.c)
        meta = {"trained_on": sorted({r["set"] for r in rows}), "turns": len(rows), "c": args.c}
        meta["out_of_set_right_document"] = figures["all"]
        router = type(router)(router.titles, router.weights, router.bias, meta)
        out = settings.playbooks_path / "document_router.npz"
        router.save(out)
        print(f"wrote {out}")  # noqa: T201
    pins = sentences_out_of_set(rows, args.c, kb)
    print(f"sentence router, leave-one-set-out: {pins}")  # noqa: T201
    if args.write:
        srouter = fit_sentences([r for r in rows if r["vector"] is not None], args.c, kb)
        meta = {"trained_on": sorted({r["set"] for r in rows}), "turns": len(rows), "c": args.c, "out_of_set": pins}
        srouter = type(srouter)(srouter.titles, srouter.weights, srouter.bias, meta, srouter.documents)
        out = settings.playbooks_path / "sentence_router.npz"
        srouter.save(out)
        print(f"wrote {out}")  # noqa: T201


if __name__ == "__main__":
    main()
