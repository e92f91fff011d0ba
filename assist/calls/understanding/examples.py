"""The editors' training material and how it is split and augmented.

- `kb_docs/playbooks/examples/needs.jsonl` (customer turns) and `steps.jsonl` (agent turns), see the README
  there, and `call_steps.jsonl` (the agent turns of labelled calls, training only: see `call_examples`); the
  playbooks' topic keywords and `done_when` phrases (`topics.yaml`, `steps.yaml`);
- a fixed, translation-aware train/validation split: the examples are parallel sets (one turn in Simplified,
  Hong Kong, Taiwan and English), so a turn and its translations stay on one side; stratified by script and
  label, fixed seed;
- augmentation: the other Chinese script (OpenCC) and an ASR-like form (no punctuation, lower case);
- a disk cache of vectors keyed by the exact text, so a retrain embeds only what changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from assist.calls.context import clean_turn
from assist.calls.understanding.model import Encoder, Playbook
from assist.calls.understanding.train import NeedExample, StepExample
from assist.errors import InvalidInputError

logger = logging.getLogger(__name__)

SPLIT_SEED = 17
VAL_FRACTION = 0.2
# Topics the examples know that the playbooks do not ("identity": how the bank verifies callers), and their steps.
EXTRA_TOPIC_STEPS = {"identity": ["verify_identity"]}


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    """The rows of a JSON-lines file; InvalidInputError naming the line that is not a JSON object."""
    rows = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidInputError(f"{path.name} line {n}: not JSON ({exc.msg})") from exc
            if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                raise InvalidInputError(f"{path.name} line {n}: expected an object with a text")
            rows.append(row)
    return rows


def script_of(row: dict[str, Any]) -> str:
    """zh-Hans / zh-Hant HK / zh-Hant TW / en: the groups the split is stratified by."""
    lang = row.get("lang") or row.get("script")
    if lang == "zh-Hant":
        return f"zh-Hant {row.get('region')}"
    return str(lang)


def playbook_from(directory: Path) -> Playbook:
    """The editors' phrases of a playbooks folder: topic keywords, topic steps, `done_when` and `not_when`
    phrases."""
    import yaml

    topics = yaml.safe_load((directory / "topics.yaml").read_text(encoding="utf-8"))["topics"]
    steps = yaml.safe_load((directory / "steps.yaml").read_text(encoding="utf-8"))["steps"]
    topic_steps = {t: list(s.get("steps") or []) for t, s in topics.items()}
    topic_steps.update(EXTRA_TOPIC_STEPS)
    return Playbook(
        topic_keywords={t: [str(k) for k in s["keywords"]] for t, s in topics.items()},
        topic_steps=topic_steps,
        step_phrases={sid: [str(p) for p in s.get("done_when") or []] for sid, s in steps.items()},
        step_vetoes={sid: [str(p) for p in s["not_when"]] for sid, s in steps.items() if s.get("not_when")},
    )


# -- augmentation ----------------------------------------------------------------------------------------
_PUNCT = re.compile(r"[，。！？、；：,.!?;:“”\"'（）()…~～—\-]+")


def asr_form(text: str) -> str:
    """The text as an ASR transcript would carry it: no punctuation, lower case (English)."""
    out = _PUNCT.sub(" ", text)
    out = re.sub(r"\s+", " ", out).strip()
    return out.lower() if out.isascii() else out


@lru_cache(maxsize=4)
def _converter(config: str) -> Any:
    import opencc

    return opencc.OpenCC(config)


def script_forms(text: str, lang: str) -> list[str]:
    """The other Chinese script of a Chinese text (Simplified → Hong Kong Traditional, Traditional →
    Simplified)."""
    if not lang.startswith("zh"):
        return []
    other = _converter("s2hk" if lang == "zh-Hans" else "t2s").convert(text)
    return [other] if other != text else []


def augment(text: str, lang: str) -> list[str]:
    """The text's other script and ASR-like forms, each also through `clean_turn` (no duplicates)."""
    out = [text, *script_forms(text, lang)]
    out += [asr_form(t) for t in list(out)]
    seen = list(dict.fromkeys(t for t in out if t))
    return list(dict.fromkeys(seen + [clean_turn(v) for v in seen]))


# -- the split -------------------------------------------------------------------------------------------
def translation_groups(vecs: np.ndarray, langs: list[str], *, min_cos: float = 0.88) -> list[int]:
    """A group id per row: rows of different scripts that are each other's nearest neighbour across the
    scripts with cosine ≥ min_cos are joined (union-find); ids are the group's first row."""
    n = len(langs)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    sims = vecs @ vecs.T
    lang_arr = np.array(langs)
    for i in range(n):
        for other in sorted(set(langs) - {langs[i]}):
            idx = np.flatnonzero(lang_arr == other)
            j = int(idx[np.argmax(sims[i, idx])])
            if sims[i, j] < min_cos:
                continue
            back = np.flatnonzero(lang_arr == langs[i])
            if int(back[np.argmax(sims[j, back])]) == i:
                parent[find(i)] = find(j)
    first: dict[int, int] = {}
    for i in range(n):
        first.setdefault(find(i), i)
    return [first[find(i)] for i in range(n)]


def group_split(groups: list[int], strata: list[str], *, seed: int = SPLIT_SEED) -> list[bool]:
    """True for the rows in validation: whole groups, about VAL_FRACTION of each stratum."""
    rng = random.Random(seed)
    first: dict[int, str] = {}
    for g, s in zip(groups, strata, strict=True):
        first.setdefault(g, s)
    by_stratum: dict[str, list[int]] = {}
    for g, s in sorted(first.items()):
        by_stratum.setdefault(s, []).append(g)
    val_groups: set[int] = set()
    for s in sorted(by_stratum):
        gs = by_stratum[s]
        rng.shuffle(gs)
        val_groups.update(gs[: round(len(gs) * VAL_FRACTION)])
    return [g in val_groups for g in groups]


@dataclass
class Split:
    """The examples on each side of the split."""

    needs: list[NeedExample]
    val_needs: list[NeedExample]
    steps: list[StepExample]
    val_steps: list[StepExample]


def split_examples(examples_dir: Path, embed: Encoder) -> Split:
    """The fixed train/validation split of `needs.jsonl` and `steps.jsonl`."""
    needs, steps = load_jsonl(examples_dir / "needs.jsonl"), load_jsonl(examples_dir / "steps.jsonl")
    try:
        n_val = group_split(
            translation_groups(_matrix(embed, [r["text"] for r in needs]), [script_of(r) for r in needs]),
            [f"{script_of(r)}|{r['need']}|{r['topic']}" for r in needs],
        )
        s_val = group_split(
            translation_groups(_matrix(embed, [r["text"] for r in steps]), [script_of(r) for r in steps]),
            [f"{script_of(r)}|{r['kind']}|{r['step']}" for r in steps],
        )
        # the vector a customer turn gets in the engine is that of clean_turn(text)
        n_ex = [NeedExample(clean_turn(r["text"]), bool(r["need"]), r["topic"], r["lang"]) for r in needs]
        s_ex = [StepExample(r["text"], r["step"], bool(r["done"]), r["lang"], r["kind"]) for r in steps]
    except KeyError as exc:
        raise InvalidInputError(f"an example misses the field {exc} (see examples/README.md)") from exc
    return Split(
        needs=[e for e, v in zip(n_ex, n_val, strict=True) if not v],
        val_needs=[e for e, v in zip(n_ex, n_val, strict=True) if v],
        steps=[e for e, v in zip(s_ex, s_val, strict=True) if not v],
        val_steps=[e for e, v in zip(s_ex, s_val, strict=True) if v],
    )


# -- multi-clause agent turns ---------------------------------------------------------------------------
_NOT_DONE = ("promise", "in_progress", "question", "negated")


def _join(a: str, b: str, lang: str, rng: random.Random) -> str:
    """Two clauses as one turn: written (full stop or comma) or as an ASR transcript (a space)."""
    a = a.strip()
    if lang.startswith("zh"):
        a = a.rstrip("。，,. ")
        return a + rng.choice(("。", "，", " ")) + b.strip()
    a = a.rstrip(".,! ")
    return a + rng.choice((". ", ", ", " ")) + b.strip()


def composite_turns(steps: list[StepExample], *, per_example: int = 1, seed: int = SPLIT_SEED) -> list[StepExample]:
    """Agent turns of two clauses, built from the one-clause examples of one side of the split.

    Agents rarely stop after the words that complete a step: "核对无误，是您本人，请问是哪张卡？",
    "that's you verified, which card is it?". Each example about a step is joined (before or after, at
    random) to a clause of the same script that completes nothing and is not about that step: a question,
    remark, promise or negation about another step, or a turn about none ("已经给您挂失了，新卡需要您到网点
    申领" completes the freeze, not the replacement). The turn keeps the example's label: a done clause stays
    done whatever is asked after it, and a promise, a question or a negation stays not done whatever is said
    around it. Deterministic (fixed seed).
    """
    rng = random.Random(seed)
    tails: dict[str, list[StepExample]] = {}
    for e in steps:
        if not e.done:  # about no step, or not done: a question, a remark, a promise, a negation
            tails.setdefault(e.lang, []).append(e)
    out: list[StepExample] = []
    for e in steps:
        if e.step is None or not (e.done or e.kind in _NOT_DONE):
            continue
        pool = [t for t in tails.get(e.lang, []) if t.step != e.step and t.text != e.text]
        for _ in range(per_example if pool else 0):
            tail = rng.choice(pool)
            first, second = (e.text, tail.text) if rng.random() < 0.7 else (tail.text, e.text)
            out.append(StepExample(_join(first, second, e.lang, rng), e.step, e.done, e.lang, f"{e.kind}+clause"))
    return out


def _matrix(embed: Encoder, texts: list[str]) -> np.ndarray:
    vecs = [embed(t) for t in texts]
    if any(v is None for v in vecs):
        raise InvalidInputError("an example is too long for the encoder")
    return np.stack([np.asarray(v, np.float32) for v in vecs])


class EmbeddingCache:
    """text → vector through the encoder, kept on disk (keys: SHA-1 of the exact text) between retrains."""

    def __init__(self, encoder: Encoder, path: Path | None = None) -> None:
        self.encoder, self.path = encoder, path
        self._vecs: dict[str, np.ndarray] = {}
        self._dirty = False
        if path is not None and path.is_file():
            with np.load(path) as z:
                keys, mat = z["keys"], z["vecs"]
            self._vecs = {str(k): mat[i] for i, k in enumerate(keys)}
            logger.info("embedding cache loaded: %d vectors", len(self._vecs))

    def __call__(self, text: str) -> np.ndarray:
        k = hashlib.sha1(text.encode("utf-8")).hexdigest()
        v = self._vecs.get(k)
        if v is None:
            got = self.encoder(text)
            if got is None:
                raise InvalidInputError(f"text too long for the encoder: {text[:60]!r}")
            v = self._vecs[k] = np.asarray(got, np.float32)
            self._dirty = True
        return v

    def save(self) -> None:
        """Write the cache (atomic) when it has new vectors and a path."""
        if not self._dirty or self.path is None or not self._vecs:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp.npz")
        np.savez(tmp, keys=np.array(list(self._vecs)), vecs=np.stack(list(self._vecs.values())).astype(np.float32))
        tmp.replace(self.path)
        self._dirty = False


def retrain(
    *,
    examples_dir: Path,
    playbooks_dir: Path,
    encoder: Encoder,
    cache_path: Path | None = None,
    config: Any = None,
    calls: list[StepExample] | None = None,
) -> tuple[Any, Any]:
    """Train a model on the editors' examples and playbooks; returns (TurnUnderstanding, TrainReport).

    `calls`: labelled calls' agent turns for the training side (None: those of `examples_dir / call_steps.jsonl`;
    benchmarks/train_steps_held_out.py passes those of the calls a model is not judged on).

    Raises:
        InvalidInputError: a missing file or a malformed example.
    """
    from assist.calls.understanding.call_examples import load_call_steps
    from assist.calls.understanding.train import train_model

    for name in ("needs.jsonl", "steps.jsonl"):
        if not (examples_dir / name).is_file():
            raise InvalidInputError(f"{examples_dir / name} not found: the examples the model learns from")
    for name in ("topics.yaml", "steps.yaml"):
        if not (playbooks_dir / name).is_file():
            raise InvalidInputError(f"{playbooks_dir / name} not found")
    cache = EmbeddingCache(encoder, cache_path)
    per_example = int(getattr(config, "composite_turns", 1)) if config is not None else 1
    if calls is None:
        calls = load_call_steps(examples_dir)  # labelled calls' agent turns: training only
    try:
        split = split_examples(examples_dir, cache)
        model, report = train_model(
            needs=split.needs,
            steps=split.steps + composite_turns(split.steps, per_example=per_example) + calls,
            val_needs=split.val_needs,
            # calibrated on the editors' own turns: two-clause turns built at random are harder than real ones
            # (a promise joined to a done clause of another step), and no threshold reaches the precision target
            val_steps=split.val_steps,
            playbook=playbook_from(playbooks_dir),
            embed=cache,
            augment=augment,
            config=config,
        )
    finally:
        cache.save()
    return model, report
