"""Guard claim model, eighth round (issue #16): a recipe measured leave-one-set-out over the outside-written sets.

Usage (repository root)::

    ASSIST_DATA_DIR=/tmp/g8/data OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/guard_loso.py NAME \
        [--exclude tp-s7f-,tp-s8f-] [--sets guard_fresh3,guard_fresh4] [--in-force] \
        [credential=warn_at_block] [veto_below=0.1] [TrainConfig field=value ...]

The honest measure of "the next set written by someone else": for each spent locked set S
(``benchmarks/data/spent/S.jsonl``, written by outside writers and reported once), a model is trained as
``assist guard train`` trains it (:func:`assist.compliance.guard.retrain.train_candidate`: the corpus's train
split, the sample documents' sentences, thresholds calibrated for the combined guard with the default rule
pack) on the corpus WITHOUT S's lines (their ids start with the set's prefix, :data:`SETS`) and without any
line from a site S cites (by registered domain), then S is scored with the rules and that model combined
(:func:`assist.compliance.guard.layer_eval.actions`, as ``assist eval guard``): all lines, and the lines not
marked ``judgement``. Figures per set and pooled (counts summed over the sets).

``--exclude`` drops corpus lines by id prefix from every training run (``tp-s7f-,tp-s8f-``: the corpus the
model in force was trained on, i.e. its recipe). ``--in-force`` scores the shipped model instead of training
(fair only on sets it never saw); ``--reuse RUN`` scores RUN's models again with the ``Policy`` fields given laid
over their own (a quick screen of a combination change: the thresholds are not recalibrated for it). A held
"set" may be a batch of files written together (:data:`SETS`: ``guard_fresh5`` = fresh5a + fresh5b); lines of the
corpus with the same text as a held line are dropped from training too. The output ends with a markdown table of
the MODEL ALONE and the combined guard, per held batch and pooled (judgement calls excluded).

Settings: ``credential=`` the policy's ``credential_without_secret``, ``veto_below=`` its veto,
``policy.FIELD=value`` any other :class:`Policy` field, anything else a :class:`TrainConfig` field
(``per_script=1``, ``simplify=1``, ``target_flag_fpr=0.10``, ``third_party_weight=2`` ...). The defaults are
the installed recipe of round 6 (``ordinary_weight=10 simplify=1 per_script=1 target_flag_fpr=0.10
ordinary_flag_fpr=0.02 ordinary_veto=0``, ``credential=warn_at_block``); ``ordinary_veto=none`` switches the
ordinary-talk veto off.
Encodings are cached in ``GUARD_LOSO_DIR`` (default ``/tmp/g8``); the result is written to ``NAME.json``
there. Never reads the held-out sets or the shared dev set's texts (only its source addresses, to drop
their sites from training).
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

#: Held "sets": a batch of locked sets written together is held out together (its files, its corpus id prefixes).
SETS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "guard_holdout": (("guard_holdout",), ("tp-s5h-",)),
    "guard_fresh": (("guard_fresh",), ("tp-s5f-",)),
    "guard_fresh2": (("guard_fresh2",), ("tp-s6f-",)),
    "guard_fresh3": (("guard_fresh3",), ("tp-s7f-",)),
    "guard_fresh4": (("guard_fresh4",), ("tp-s8f-",)),
    "guard_fresh5": (("guard_fresh5a", "guard_fresh5b"), ("tp-s10a-", "tp-s10b-")),
    "guard_fresh6": (("guard_fresh6a", "guard_fresh6b"), ("tp-s10c-", "tp-s10d-")),
}
SPENT = Path("benchmarks/data/spent")
DEV = Path("/work/shared/data/guard/external_dev.jsonl")
RECIPE: dict[str, Any] = {
    "ordinary_weight": 10.0,
    "simplify": True,
    "per_script": True,
    "target_flag_fpr": 0.10,
    "ordinary_flag_fpr": 0.02,
    "ordinary_veto": 0.0,
}
_SECOND_LEVEL = {"com", "org", "net", "gov", "edu", "co", "ac"}


def site(url: str) -> str:
    """The registered domain of an address, roughly (``news.example.com.tw`` → ``example.com.tw``)."""
    parts = (urlparse(str(url)).hostname or "").lower().split(".")
    if len(parts) >= 3 and parts[-2] in _SECOND_LEVEL and len(parts[-1]) == 2:
        return ".".join(parts[-3:])
    return ".".join(parts[-2:]) if parts != [""] else ""


class CachedEncoder:
    """The product's encoder with a pickle cache by (text, spans): the five trainings encode each line once."""

    def __init__(self, inner: Any, path: Path) -> None:
        self.inner, self.path = inner, path
        self.cache: dict[Any, Any] = pickle.loads(path.read_bytes()) if path.is_file() else {}
        self.new = 0

    @property
    def encoder_id(self) -> str:
        return str(self.inner.encoder_id)

    def encode(self, text: str, spans: Any) -> Any:
        key = (text, tuple(map(tuple, spans)))
        if key not in self.cache:
            self.cache[key] = self.inner.encode(text, spans)
            self.new += 1
        return self.cache[key]

    def save(self) -> None:
        if self.new:
            self.path.write_bytes(pickle.dumps(self.cache))
            self.new = 0


def parse(argv: list[str]) -> tuple[str, dict[str, Any], dict[str, Any], list[str], list[str], bool | str]:
    """NAME, TrainConfig fields, Policy fields, excluded prefixes, the sets, in-force flag (or a run to reuse)."""
    from assist.compliance.guard.combine import Policy
    from assist.compliance.guard.training import TrainConfig

    name, cfg, pol = argv[0], dict(RECIPE), {"credential_without_secret": "warn_at_block"}
    exclude: list[str] = []
    sets: list[str] = list(SETS)
    in_force: bool | str = False
    args = iter(argv[1:])
    for a in args:
        if a == "--exclude":
            exclude = [p for p in next(args).split(",") if p]
        elif a == "--sets":
            sets = next(args).split(",")
        elif a == "--in-force":
            in_force = True
        elif a == "--reuse":
            in_force = next(args)
        elif a.startswith("credential="):
            pol["credential_without_secret"] = a.split("=", 1)[1]
        elif a.startswith("veto_below="):
            pol["veto_below"] = float(a.split("=", 1)[1])
        elif a.startswith("policy."):  # policy.suppress=clause, policy.suppress_any_category=0
            k, v = a.removeprefix("policy.").split("=", 1)
            pol[k] = bool(int(v)) if isinstance(getattr(Policy(), k), bool) else v
        else:
            k, v = a.split("=", 1)
            default = getattr(TrainConfig(), k)
            cfg[k] = bool(int(v)) if isinstance(default, bool) else (None if v == "none" else type(default or 0.0)(v))
    return name, cfg, pol, exclude, sets, in_force


def score(guard: Any, layer: Any, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts of the combined guard (and each layer) on a set: all lines, and without judgement calls."""
    from assist.compliance.guard.layer_eval import actions, is_claim

    out: dict[str, Any] = {}
    acts = [actions(guard, layer, str(r["text"]), str(r.get("speaker") or "agent")) for r in rows]
    for subset, keep in (("all", lambda r: True), ("no_judgement", lambda r: not r.get("judgement"))):
        for lay in ("rules", "model", "combined"):
            c = {"claims": 0, "caught": 0, "allowed": 0, "blocked": 0, "flagged": 0}
            for r, a in zip(rows, acts, strict=True):
                if not keep(r):
                    continue
                if is_claim(r):
                    c["claims"] += 1
                    c["caught"] += a[lay] != "allow"
                else:
                    c["allowed"] += 1
                    c["blocked"] += a[lay] == "block"
                    c["flagged"] += a[lay] != "allow"
            out[f"{subset}/{lay}"] = c
    out["misses"] = [r["id"] for r, a in zip(rows, acts, strict=True) if is_claim(r) and a["combined"] == "allow"]
    out["false_flags"] = [
        (r["id"], a["combined"])
        for r, a in zip(rows, acts, strict=True)
        if not is_claim(r) and a["combined"] != "allow"
    ]
    return out


def rates(c: dict[str, int]) -> str:
    """recall / FPR(block) / FPR(block or warn) (claims / allowed)."""
    r = c["caught"] / max(1, c["claims"])
    return (
        f"{r:.3f} / {c['blocked'] / max(1, c['allowed']):.3f} / {c['flagged'] / max(1, c['allowed']):.3f} "
        f"({c['claims']} / {c['allowed']})"
    )


def table(name: str, result: dict[str, Any]) -> list[str]:
    """Markdown rows, judgement calls excluded: the model alone and the combined guard per held batch and pooled.

    The model alone is the honest out-of-set measure of the model: the rules were written after reading these sets.
    """
    cols = [*result["sets"], "pooled"]
    per = {**result["sets"], "pooled": result["pooled"]}
    head = ["| run | layer | " + " | ".join(cols) + " |", "|---|---|" + "---|" * len(cols)]
    rows = []
    for lay, label in (("model", "model alone"), ("combined", "combined")):
        cells = [rates(per[c][f"no_judgement/{lay}"]).split(" (")[0] for c in cols]
        rows.append(f"| `{name}` | {label} | " + " | ".join(cells) + " |")
    return head + rows


def main() -> None:  # long function: one experiment, read top to bottom
    from assist.cli.guard_cmd import load_guard_or_exit
    from assist.compliance.guard.combine import Policy
    from assist.compliance.guard.encoding import pin_blas_threads, shared_encoder
    from assist.compliance.guard.layer_eval import read_rows
    from assist.compliance.guard.model import ClaimLayer
    from assist.compliance.guard.retrain import kb_sentences, train_candidate
    from assist.compliance.guard.training import TrainConfig
    from assist.config import get_settings

    pin_blas_threads(1)
    name, cfg_kw, pol_kw, exclude, sets, in_force = parse(sys.argv[1:])
    out_dir = Path(os.environ.get("GUARD_LOSO_DIR", "/tmp/g8"))
    out_dir.mkdir(parents=True, exist_ok=True)
    enc = CachedEncoder(shared_encoder(), out_dir / "loso_enc_cache.pkl")
    guard = load_guard_or_exit(Path("kb_docs/rules"), with_model=False)
    corpus = read_rows(Path("kb_docs/guard/claims.jsonl"), split="train")
    corpus = [r for r in corpus if not any(str(r.get("id", "")).startswith(p) for p in exclude)]
    negatives = [] if in_force is not False else kb_sentences(get_settings().kb_dir)
    dev_sites = {site(json.loads(line).get("source", "")) for line in DEV.open(encoding="utf-8") if line.strip()}
    dev_sites.discard("")
    config, policy = TrainConfig(**cfg_kw), Policy(**pol_kw)
    result: dict[str, Any] = {"config": cfg_kw, "policy": pol_kw, "exclude": exclude, "in_force": in_force, "sets": {}}
    print(name, cfg_kw, pol_kw, "exclude", exclude, "in force" if in_force else "", flush=True)
    for s in sets:
        t0 = time.time()
        files, prefixes = SETS[s]
        rows = [r for f in files for r in read_rows(SPENT / f"{f}.jsonl")]
        held_sites = {site(r.get("source", "")) for r in rows} - {""}
        held_texts = {str(r["text"]) for r in rows}
        train = [
            r
            for r in corpus
            if not str(r.get("id", "")).startswith(prefixes)
            and str(r["text"]) not in held_texts
            and site(r.get("source", "")) not in held_sites
            and site(r.get("source", "")) not in dev_sites
        ]
        if in_force is True:
            layer = ClaimLayer(get_settings().kb_dir / "guard" / "claim_model.npz", encoder=enc)
        elif in_force:  # --reuse RUN: RUN's models, the policy fields given laid over their own (not recalibrated)
            layer = ClaimLayer(out_dir / f"{in_force}-{s}.npz", encoder=enc)
            layer.load()
            layer._policy = dataclasses.replace(layer._policy, **pol_kw)
        else:
            model, _ = train_candidate(guard, train, negatives, [], enc, config, policy)
            path = out_dir / f"{name}-{s}.npz"
            model.save(path)
            layer = ClaimLayer(path, encoder=enc)
        res = score(guard, layer, rows)
        enc.save()
        res["train_rows"], res["seconds"] = len(train), round(time.time() - t0)
        result["sets"][s] = res
        print(f" {s}: trained on {len(train)} rows, {res['seconds']} s", flush=True)
        for key in ("no_judgement/combined", "all/combined", "no_judgement/model"):
            print(f"   {key:22s} {rates(res[key])}", flush=True)
    pooled = {}
    for key in next(iter(result["sets"].values())):
        if "/" in key:
            pooled[key] = {f: sum(result["sets"][s][key][f] for s in sets) for f in result["sets"][sets[0]][key]}
    result["pooled"] = pooled
    print(" pooled:")
    for key in ("no_judgement/combined", "all/combined", "no_judgement/model", "no_judgement/rules"):
        print(f"   {key:22s} {rates(pooled[key])}")
    print("\n".join(table(name, result)))
    (out_dir / f"{name}.json").write_text(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
