"""Guard claim model, fourth round (issue #16): grouped out-of-fold diagnosis and candidate settings.

Usage (repository root)::

    ASSIST_DATA_DIR=/tmp/g4/data OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/guard_oof.py NAME \
        [simp=1] [calib=1] [knn_alpha=0.3 knn_k=10 knn_tau=0.05] [TrainConfig field=value ...]

Out-of-fold predictions on the corpus's train split (5 folds by source page: no page on both sides), with
thresholds calibrated as ``assist guard train`` does (the combined guard, the default rule pack); then a
head trained on the whole train split scored on the val split and the own cases. ``simp=1`` folds
Traditional to Simplified before encoding, ``calib=1`` makes the budgets rates over third-party negatives
only, ``knn_alpha`` blends the nearest labelled examples' vote, ``ordveto=M`` applies the ordinary-talk veto
with margin M (as ``TrainConfig.ordinary_veto``; round 5); ``ordinary_weight=`` and ``ordinary_flag_fpr=`` are
TrainConfig fields; ``credgate=0|1|2``: a credential request naming no secret may block (0), warns at most
(1, as the product does since round 6), or warns only at its block threshold (2). ``GUARD_OOF_DIR`` (default
``/tmp/g4``) holds the outputs and the encoding cache; the ordinary-speech check
(``kb_docs/guard/service_speech.jsonl``) is scored too. The combined action is the calibration's view of
the guard (rules' flags after the veto, model flags where allowed); ``assist eval guard`` gives the product's
figures. Writes ``/tmp/g4/NAME.json`` (figures per language, category, kind, register, source type, and the
misses); encodings are cached in ``/tmp/g4/enc_cache.pkl``. Never reads the held-out set.
"""

import json
import os
import pickle
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from assist.cli.guard_cmd import load_guard_or_exit
from assist.compliance.guard.calibration import (
    ORDINARY_KINDS,
    calibrate,
    calibration_hook,
    cap_ordinary,
    ordinary_scores,
    statement_scores,
)
from assist.compliance.guard.combine import Policy, names_a_secret
from assist.compliance.guard.encoding import pin_blas_threads, shared_encoder
from assist.compliance.guard.layer_eval import read_rows
from assist.compliance.guard.model import CATEGORIES, features_of, softmax
from assist.compliance.guard.retrain import kb_sentences
from assist.compliance.guard.training import TrainConfig, _fit_head, _fold_of, encode_items
from assist.config import get_settings
from assist.text import detect_language, has_traditional, to_simplified

pin_blas_threads(1)
OUT = Path(os.environ.get("GUARD_OOF_DIR", "/tmp/g4"))
CACHE = OUT / "enc_cache.pkl"


class Cached:
    def __init__(self, inner, simp=False):
        self.inner, self.simp = inner, simp
        self.d = pickle.loads(CACHE.read_bytes()) if CACHE.is_file() else {}
        self.new = 0

    def __getattr__(self, k):
        return getattr(self.inner, k)

    def encode(self, text, spans):
        if self.simp:
            text = to_simplified(text)
        key = (text, tuple(map(tuple, spans)))
        if key not in self.d:
            self.d[key] = self.inner.encode(text, spans)
            self.new += 1
        return self.d[key]

    def save(self):
        if self.new:
            CACHE.write_bytes(pickle.dumps(self.d))


def register(r):
    k, note, cat = r.get("kind", ""), (r.get("note") or "").lower(), r.get("category")
    if r.get("speaker") == "customer":
        return "customer"
    if cat == "none":
        if k in ("warning", "police_warning", "scam_education", "consumer_warning", "investor_education"):
            return "warning"
        if k in ("law_text", "regulator_description"):
            return "law_text"
        if k in ("negation", "negation_list"):
            return "negation"
        return "other_neg:" + ("tp" if r["id"].startswith("tp") else "w")
    if not r["id"].startswith("tp"):
        return "agent_speech(written)"
    if re.search(r"\bad\b|advert|asa|slogan|headline|广告|廣告|banner|billboard|promotion", note):
        return "advertising"
    if re.search(r"scam|fraud|诈骗|詐騙|骗|騙|impersonat|caller|police|公安", note):
        return "scam_script"
    return "agent_speech(tp)"


def knn_probs(qv, refs, ref_lab, k_, tau, n_cls, mask=None):
    sims = qv @ refs.T
    if mask is not None:
        sims = np.where(mask, sims, -np.inf)
    kk = min(k_, sims.shape[1])
    top = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
    s = np.take_along_axis(sims, top, 1)
    w = np.exp((s - s.max(1, keepdims=True)) / tau)
    w[~np.isfinite(s)] = 0
    out = np.zeros((len(qv), n_cls))
    for j in range(kk):
        np.add.at(out, (np.arange(len(qv)), ref_lab[top[:, j]]), w[:, j])
    return out / np.maximum(out.sum(1, keepdims=True), 1e-12)


def main() -> None:  # long function: one experiment, read top to bottom
    name = sys.argv[1]
    kw, opts = {}, {"calib": 0, "simp": 0, "knn_alpha": 0.0, "knn_k": 10, "knn_tau": 0.05, "ordveto": 99.0}
    opts["credgate"] = 1
    opts["perscript"] = 0
    for a in sys.argv[2:]:
        k, v = a.split("=")
        if k in opts:
            opts[k] = type(opts[k])(float(v)) if k not in ("simp", "calib", "credgate", "perscript") else int(v)
        else:
            kw[k] = type(getattr(TrainConfig(), k))(v)
    cfg = TrainConfig(**kw)
    settings = get_settings()
    guard = load_guard_or_exit(Path("kb_docs/rules"), with_model=False)
    corpus = Path("kb_docs/guard/claims.jsonl")
    rows_tr, rows_val = read_rows(corpus, split="train"), read_rows(corpus, split="val")
    enc = Cached(shared_encoder(), simp=bool(opts["simp"]))
    t0 = time.time()
    K = len(CATEGORIES)
    items = encode_items(rows_tr, kb_sentences(settings.kb_dir), [], encoder=enc, config=cfg)
    val_items = encode_items([r for r in rows_val if r.get("speaker") != "customer"], [], [], encoder=enc, config=cfg)
    enc.save()
    print("encoded", round(time.time() - t0), "s", flush=True)
    folds = np.array([_fold_of(it.group, cfg.folds) for it in items])
    ref_idx = np.array([i for i, it in enumerate(items) if it.kind == "corpus"])
    refs = np.stack([items[i].utterance for i in ref_idx]).astype(np.float32)
    ref_lab = np.array([items[i].label for i in ref_idx])
    ref_fold = folds[ref_idx]
    a, kk, tau = opts["knn_alpha"], int(opts["knn_k"]), opts["knn_tau"]
    ref_ord = np.array([items[i].label == 0 and items[i].tag == "ordinary" for i in ref_idx])
    ref_pos = ref_lab > 0

    def veto(it, p, fold=None):
        """ordveto=m: the model flags nothing in an utterance nearer (by m) to ordinary talk than to any claim."""
        if opts["ordveto"] > 9:
            return p
        sims = refs @ it.utterance
        ok = np.ones(len(refs), bool) if fold is None else ref_fold != fold
        so = sims[ok & ref_ord].max(initial=-1.0)
        sp = sims[ok & ref_pos].max(initial=-1.0)
        if so - sp >= opts["ordveto"]:
            q = np.zeros_like(p)
            q[:, 0] = 1.0
            return q
        return p

    oof = [None] * len(items)
    for f in range(cfg.folds):
        wm, b = _fit_head([it for it, ff in zip(items, folds, strict=True) if ff != f], cfg, K)
        for i in np.nonzero(folds == f)[0].tolist():
            it = items[i]
            p = softmax(features_of(cfg.features, it.utterance, it.clauses) @ wm + b)
            if a:
                pk = knn_probs(it.clauses, refs, ref_lab, kk, tau, K, mask=(ref_fold != f)[None, :])
                p = (1 - a) * p + a * pk
            oof[i] = veto(it, p, f)
    print("oof", round(time.time() - t0), "s", flush=True)
    hook = calibration_hook(guard, Policy(), CATEGORIES)

    def decide(its, probs, block=None, warn=None):
        got = [hook(it.text, it.spans, p) for it, p in zip(its, probs, strict=True)]
        det_b = np.array([g[0] == "block" for g in got])
        det_f = np.array([g[0] in ("block", "warn") for g in got])
        allowed = [np.asarray(m, bool) for _, m in got]
        cats, scores = statement_scores(probs, allowed)
        return det_b, det_f, cats, scores

    cidx = [i for i, it in enumerate(items) if it.kind == "corpus"]
    cit = [items[i] for i in cidx]
    cpr = [oof[i] for i in cidx]
    pos = np.array([it.label > 0 for it in cit])
    det_b, det_f, cats, scores = decide(cit, cpr)
    sel = np.ones(len(cit), bool)
    if opts["calib"]:
        tp = np.array([it.group.startswith("http") for it in cit])
        sel = pos | tp
    sel &= np.array([not (it.label == 0 and it.tag in ORDINARY_KINDS) for it in cit])  # as budget_rows does

    def fit(mask):
        b_ = calibrate(
            cats[mask],
            scores[mask],
            pos[mask],
            n_categories=K,
            target_fpr=cfg.target_block_fpr,
            grid=cfg.threshold_grid,
            slack=cfg.per_category_slack,
            already=det_b[mask],
        )
        w_ = calibrate(
            cats[mask],
            scores[mask],
            pos[mask],
            n_categories=K,
            target_fpr=cfg.target_flag_fpr,
            grid=cfg.threshold_grid,
            slack=cfg.per_category_slack,
            already=det_f[mask],
        )
        return b_, np.minimum(w_, b_)

    block, warn = fit(sel)
    if cfg.ordinary_flag_fpr < 1.0:  # the second budget, over ordinary talk (as assist guard train does)
        oc, os_ = ordinary_scores(items, oof)
        block, warn = cap_ordinary(block, warn, oc, os_, cfg.ordinary_flag_fpr, cfg.threshold_grid)
    if opts["perscript"]:  # thresholds per script: each script's negatives get the same budget
        scr = np.array([script_of(it.text) for it in cit])
        per = {sc: fit(sel & (scr == sc)) for sc in SCRIPTS}
        if opts["perscript"] == 2:  # one budget shared by script x category cells (one Lagrangian)
            cell = np.array([SCRIPTS.index(x) for x in scr]) * K + cats
            pair = []
            for target, already in ((cfg.target_block_fpr, det_b), (cfg.target_flag_fpr, det_f)):
                t = calibrate(
                    cell[sel],
                    scores[sel],
                    pos[sel],
                    n_categories=K * len(SCRIPTS),
                    target_fpr=target,
                    grid=cfg.threshold_grid,
                    slack=cfg.per_category_slack,
                    already=already[sel],
                )
                pair.append([np.concatenate([[np.inf], t[j * K + 1 : (j + 1) * K]]) for j in range(len(SCRIPTS))])
            per = {sc: (pair[0][j], np.minimum(pair[1][j], pair[0][j])) for j, sc in enumerate(SCRIPTS)}
        if cfg.ordinary_flag_fpr < 1.0:  # the ordinary-talk budget, per script too
            oidx = [i for i, it in enumerate(items) if it.kind == "corpus" and not it.label and it.tag == "ordinary"]
            oscr = np.array([script_of(items[i].text) for i in oidx])
            for sc in SCRIPTS:
                m = oscr == sc
                if m.any():
                    per[sc] = cap_ordinary(*per[sc], oc[m], os_[m], cfg.ordinary_flag_fpr, cfg.threshold_grid)
        block = {sc: per[sc][0] for sc in SCRIPTS}
        warn = {sc: per[sc][1] for sc in SCRIPTS}
    fb, fw = gated([it.text for it in cit], cats, scores, block, warn, det_b, det_f, opts["credgate"])
    crow = [r for r in rows_tr if r.get("speaker") != "customer"]
    assert len(crow) == len(cit)
    res = {"opts": opts, "cfg": kw, "oof": report(crow, pos, fb, fw)}
    # val
    wm, b = _fit_head(items, cfg, K)
    vpr = []
    for it in val_items:
        p = softmax(features_of(cfg.features, it.utterance, it.clauses) @ wm + b)
        if a:
            p = (1 - a) * p + a * knn_probs(it.clauses, refs, ref_lab, kk, tau, K)
        vpr.append(veto(it, p))
    vdb, vdf, vc, vs = decide(val_items, vpr)
    vpos = np.array([it.label > 0 for it in val_items])
    vrow = [r for r in rows_val if r.get("speaker") != "customer"]
    vfb, vfw = gated([it.text for it in val_items], vc, vs, block, warn, vdb, vdf, opts["credgate"])
    # customers count as allowed (never flagged) in the product's val figures: add them
    ncust = sum(r.get("speaker") == "customer" for r in rows_val)
    res["val"] = report(vrow, vpos, vfb, vfw, ncust)
    # own cases (the rule pack's labelled statements)
    crows = read_rows(Path("kb_docs/guard/cases.jsonl"))
    crows = [
        dict(
            r, category=("guaranteed_return" if r.get("expect", r.get("label")) == "block" else "none"), id=f"case-{i}"
        )
        for i, r in enumerate(crows)
    ]
    arows = [r for r in crows if r.get("speaker") != "customer"]
    own_items = encode_items(arows, [], [], encoder=enc, config=cfg)
    opr = []
    for it in own_items:
        p = softmax(features_of(cfg.features, it.utterance, it.clauses) @ wm + b)
        if a:
            p = (1 - a) * p + a * knn_probs(it.clauses, refs, ref_lab, kk, tau, K)
        opr.append(veto(it, p))
    odb, odf, oc, os_ = decide(own_items, opr)
    opos = np.array([it.label > 0 for it in own_items])
    ofb, ofw = gated([it.text for it in own_items], oc, os_, block, warn, odb, odf, opts["credgate"])
    res["own"] = report(arows, opos, ofb, ofw, sum(r.get("speaker") == "customer" for r in crows))
    # the ordinary-speech check (kb_docs/guard/service_speech.jsonl: written service talk, never trained on)
    srows = [dict(r, category="none", id=r["id"]) for r in read_rows(Path("kb_docs/guard/service_speech.jsonl"))]
    svc_items = encode_items(srows, [], [], encoder=enc, config=cfg)
    spr = [veto(it, softmax(features_of(cfg.features, it.utterance, it.clauses) @ wm + b)) for it in svc_items]
    sdb, sdf, sc, ss = decide(svc_items, spr)
    sfb, sfw = gated([it.text for it in svc_items], sc, ss, block, warn, sdb, sdf, opts["credgate"])
    res["service"] = report(srows, np.zeros(len(srows), bool), sfb, sfw)
    enc.save()
    res["thresholds"] = {"block": _json(block), "warn": _json(warn)}
    res["seconds"] = round(time.time() - t0)
    (OUT / f"{name}.json").write_text(json.dumps(res, ensure_ascii=False, indent=1, default=str))
    o, v = res["oof"]["overall"], res["val"]["overall"]
    print(name, opts, kw, "\n OOF", o, "\n VAL", v, "\n OWN", res["own"]["overall"])
    print(" SERVICE", res["service"]["overall"], [t for *_, t in res["service"]["false_flags"]][:8])
    print(
        " by src",
        {
            p: {g: (x["recall"], x["fpr_block"], x["fpr_flag"]) for g, x in res[p]["by_src"].items()}
            for p in ("oof", "val")
        },
    )
    for key in ("lang",):
        print(" OOF by", key, {g: (x["recall"], x["fpr_flag"]) for g, x in res["oof"]["by_" + key].items()})
        print(" VAL by", key, {g: (x["recall"], x["fpr_flag"]) for g, x in res["val"]["by_" + key].items()})


SCRIPTS = ("en", "zh-Hans", "zh-Hant")


def script_of(text):
    lang = detect_language(text)
    return lang if lang in SCRIPTS else ("zh-Hant" if has_traditional(text) else "zh-Hans")


def _json(t):
    return {k: v.tolist() for k, v in t.items()} if isinstance(t, dict) else t.tolist()


def gated(texts, cats, scores, block, warn, det_b, det_f, mode):
    """Block / flag per statement; a credential request naming no secret blocks never (mode 1, the product's
    ``Policy.credential_block_needs_secret``) or, with mode 2, warns only where it reaches the block threshold."""
    if isinstance(block, dict):
        scr = [script_of(t) for t in texts]
        bt = np.array([block[sc][c] for sc, c in zip(scr, cats, strict=True)])
        wt = np.array([warn[sc][c] for sc, c in zip(scr, cats, strict=True)])
    else:
        bt, wt = block[cats], warn[cats]
    model_b, model_w = scores >= bt, scores >= wt
    if mode:
        cred = (cats == CATEGORIES.index("credential_request")) & ~np.array([names_a_secret(t) for t in texts], bool)
        if mode == 2:
            model_w = np.where(cred, model_b, model_w)
        model_b = model_b & ~cred
    return model_b | det_b, model_w | det_f


def report(rows, pos, fb, fw, extra_neg=0):
    def fig(idx):
        idx = np.asarray(idx, int)
        p, n = idx[pos[idx]], idx[~pos[idx]]
        nn = len(n) + extra_neg if extra_neg else len(n)

        def r(m: np.ndarray, s: np.ndarray) -> float:
            return round(float(m[s].sum()) / max(1, len(s)), 3)

        return {
            "recall": r(fw, p),
            "recall_block": r(fb, p),
            "fpr_block": round(float(fb[n].sum()) / max(1, nn), 3),
            "fpr_flag": round(float(fw[n].sum()) / max(1, nn), 3),
            "claims": len(p),
            "allowed": nn,
        }

    out = {"overall": fig(range(len(rows)))}
    extra_neg = 0  # the breakdowns count agents' statements only
    for key, fn in (
        ("lang", lambda r: r.get("lang")),
        ("category", lambda r: r.get("category")),
        ("neg_of", lambda r: r.get("neg_of") if r.get("category") == "none" else None),
        ("kind", lambda r: r.get("kind")),
        ("register", register),
        ("src", lambda r: "tp" if r["id"].startswith("tp") else "w"),
        ("lang_src", lambda r: r.get("lang") + ("/tp" if r["id"].startswith("tp") else "/w")),
    ):
        g = defaultdict(list)
        for i, r in enumerate(rows):
            v = fn(r)
            if v:
                g[str(v)].append(i)
        out["by_" + key] = {k: fig(ix) for k, ix in sorted(g.items())}
    out["misses"] = [(r["id"], r["lang"], r["category"], r["text"]) for i, r in enumerate(rows) if pos[i] and not fw[i]]
    out["false_flags"] = [
        (r["id"], r["lang"], r.get("kind"), "B" if fb[i] else "W", r["text"])
        for i, r in enumerate(rows)
        if not pos[i] and fw[i]
    ]
    return out


if __name__ == "__main__":
    main()
