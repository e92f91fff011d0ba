"""Per-category block/warn thresholds for the claim model, calibrated for the COMBINED guard.

Thresholds come from out-of-fold probabilities of the training split (folds grouped by source page), with
the deterministic layers' flags (after the model's veto) charged to the same false-positive budget, so the
validation split and third-party sets stay clean for evaluation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


def statement_scores(
    probs_per_item: Sequence[np.ndarray], allowed: Sequence[np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per statement: the category and probability of its most confident clause.

    A clause's category is its best non-``none`` one; clauses where ``allowed`` is False are skipped
    (score 0), as :func:`predict` and the combination rule skip them.
    """
    cats = np.ones(len(probs_per_item), np.int64)
    scores = np.zeros(len(probs_per_item))
    for i, p in enumerate(probs_per_item):
        if not len(p):
            continue
        best = p[:, 1:].max(1)
        if allowed is not None:
            best = np.where(allowed[i], best, 0.0)
        c = int(np.argmax(best))
        cats[i], scores[i] = int(np.argmax(p[c, 1:])) + 1, float(best[c])
    return cats, scores


def calibrate(
    cats: np.ndarray,
    scores: np.ndarray,
    positive: np.ndarray,
    *,
    n_categories: int,
    target_fpr: float,
    grid: Sequence[float],
    slack: float,
    already: np.ndarray | None = None,
) -> np.ndarray:
    """Per-category thresholds that catch the most positives for a false-positive budget.

    Each statement is attributed to its best category and flagged when its score reaches that category's
    threshold: first one global threshold within ``target_fpr``, then (:func:`_lagrangian`) per-category
    thresholds within ``slack`` of it that catch the most positives under the same budget.

    Args:
        cats: Best category per statement (1..K-1).
        scores: Its probability.
        positive: Whether the statement is a forbidden claim.
        n_categories: K.
        target_fpr: Budget, as a rate over the negatives.
        grid: Candidate thresholds.
        slack: Maximum distance of a category's threshold from the global one.
        already: Statements flagged anyway (by the deterministic layer): they neither use the budget
            twice nor count as the model's catch. Their false positives are charged to the budget.

    Returns:
        ``(n_categories,)`` thresholds; index 0 (``none``) is ``inf``.
    """
    grid_arr = np.asarray(sorted(grid), np.float64)
    pos = np.asarray(positive, bool)
    done = np.zeros(len(pos), bool) if already is None else np.asarray(already, bool)
    n_neg = max(1, int((~pos).sum()))
    budget = target_fpr * n_neg - float((done & ~pos).sum())
    free = ~done
    thr = np.full(n_categories, np.inf)
    if budget < 0:
        return thr
    g = grid_arr[-1]
    for t in grid_arr:
        if float(((scores >= t) & free & ~pos).sum()) <= budget:
            g = t
            break
    tp = np.zeros((n_categories, len(grid_arr)))
    fp = np.zeros((n_categories, len(grid_arr)))
    for k in range(1, n_categories):
        sel = free & (cats == k)
        for j, t in enumerate(grid_arr):
            hit = sel & (scores >= t)
            tp[k, j] = float((hit & pos).sum())
            fp[k, j] = float((hit & ~pos).sum())
    allowed = (grid_arr >= g - slack - 1e-9) & (grid_arr <= g + slack + 1e-9)
    best = _lagrangian(tp, fp, allowed, budget)
    if best is None:
        best = np.full(n_categories, int(np.searchsorted(grid_arr, g)))
    for k in range(1, n_categories):
        thr[k] = float(grid_arr[min(best[k], len(grid_arr) - 1)])
    return thr


def _lagrangian(tp: np.ndarray, fp: np.ndarray, allowed: np.ndarray, budget: float) -> np.ndarray | None:
    """Per category, the grid index maximising TP - lam * FP; lam found by bisection so that the total
    false positives stay within ``budget``. None when no lam fits."""
    n_categories, n_grid = tp.shape
    tie_break = 1e-6 * (n_grid - np.arange(n_grid))

    def choose(lam: float) -> tuple[np.ndarray, float]:
        idx = np.zeros(n_categories, np.int64)
        for k in range(1, n_categories):
            idx[k] = int(np.argmax(np.where(allowed, tp[k] - lam * fp[k] - tie_break, -np.inf)))
        return idx, float(sum(fp[k, idx[k]] for k in range(1, n_categories)))

    lo, hi = 0.0, 1000.0
    best = None
    for _ in range(40):
        lam = (lo + hi) / 2
        idx, t_fp = choose(lam)
        if t_fp <= budget:
            best, hi = idx, lam
        else:
            lo = lam
    return best


#: Corpus kinds that are ordinary talk: the second budget's pool, never in the first budget's.
ORDINARY_KINDS = ("ordinary",)

#: What :func:`budget_rows` accepts: every negative, only those taken from third-party public text, or only
#: third-party statements on both sides (``third_party_all``: the claims whose recall is maximised too).
NEGATIVE_POOLS = ("all", "third_party", "third_party_all")


def budget_rows(items: Sequence[Any], positive: np.ndarray, pool: str) -> np.ndarray:
    """Which corpus statements the false-positive budget counts: all claims plus the negatives of ``pool``.

    ``third_party`` keeps the negatives whose source is a public page (their group is its address), so
    the budget is a rate over the kind of text the guard is judged on, not over the project's own
    written near-misses; ``third_party_all`` keeps only such statements, claims too, so the thresholds
    catch the most claims of other writers rather than of the project's. Ordinary talk (kind ``ordinary``)
    is never in the pool: it is easy, so it would loosen every threshold, and it has a budget of its own
    (``ordinary_flag_fpr``).

    Raises:
        InvalidInputError: An unknown pool, or a pool with no negative in it.
    """
    from assist.errors import InvalidInputError

    if pool not in NEGATIVE_POOLS:
        raise InvalidInputError(f"calibrate_negatives must be one of {', '.join(NEGATIVE_POOLS)}, got {pool!r}")
    pos = np.asarray(positive, bool)
    # Ordinary talk has its own budget and check; as easy negatives it would loosen every threshold.
    ordinary: np.ndarray = np.array([getattr(it, "tag", "") in ORDINARY_KINDS for it in items], bool) & ~pos
    if pool == "all":
        everything_else: np.ndarray = ~ordinary
        return everything_else
    third = np.array([str(getattr(it, "group", "")).startswith("http") for it in items], bool)
    if not (third & ~pos).any():
        raise InvalidInputError(f"calibrate_negatives={pool}, but no negative statement has a source address")
    if pool == "third_party_all" and not (third & pos).any():
        raise InvalidInputError("calibrate_negatives=third_party_all, but no claim has a source address")
    claims = pos & third if pool == "third_party_all" else pos
    keep: np.ndarray = (claims | (third & ~pos)) & ~ordinary
    return keep


#: ``(text, clause spans, clause probabilities) -> (deterministic action after the model's veto,
#: per-clause mask of where the model may add a match)``: the combination rule seen from calibration.
CombinedHook = Callable[[str, Sequence[tuple[int, int]], np.ndarray], tuple[str, np.ndarray]]


# long function: the budgets, the ordinary-talk cap and the per-script thresholds share one set of scores
def calibrate_items(
    items: Sequence[Any],
    oof: Sequence[np.ndarray],
    config: Any,
    n_classes: int,
    combined: CombinedHook | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Block and warn thresholds from out-of-fold probabilities of the corpus statements.

    With ``combined``, the deterministic layer's flags (after the model's veto) are charged to the same
    false-positive budget and the model's clauses it would suppress are skipped.
    """
    idx = [i for i, it in enumerate(items) if it.kind == "corpus"]
    probs = [oof[i] for i in idx]
    pos = np.array([items[i].label > 0 for i in idx])
    det_block = det_flag = None
    allowed = None
    if combined is not None:
        got = [combined(items[i].text, items[i].spans, oof[i]) for i in idx]
        det_block = np.array([a == "block" for a, _ in got])
        det_flag = np.array([a in ("block", "warn") for a, _ in got])
        allowed = [np.asarray(m, bool) for _, m in got]
    cats, scores = statement_scores(probs, allowed)
    grid, slack = config.threshold_grid, config.per_category_slack
    # Which statements the budget is a rate over: every claim, and the negatives of the chosen kind.
    sel = budget_rows([items[i] for i in idx], pos, getattr(config, "calibrate_negatives", "all"))

    def fit(target: float, already: np.ndarray | None, rows: np.ndarray = sel) -> np.ndarray:
        return calibrate(
            cats[rows],
            scores[rows],
            pos[rows],
            n_categories=n_classes,
            target_fpr=target,
            grid=grid,
            slack=slack,
            already=None if already is None else already[rows],
        )

    def fit_both(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        b = fit(config.target_block_fpr, det_block, rows)
        return b, np.minimum(fit(config.target_flag_fpr, det_flag, rows), b)

    block, warn = fit_both(sel)
    ordinary_budget = float(getattr(config, "ordinary_flag_fpr", 1.0))
    if ordinary_budget < 1.0:
        oc, os_ = ordinary_scores(items, oof)
        block, warn = cap_ordinary(block, warn, oc, os_, ordinary_budget, grid)
    bt, wt = block[cats], warn[cats]
    by_script: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if getattr(config, "per_script", False):
        # Each script's statements get the same budgets, as a rate over that script's negatives: the model's
        # scores are not on one scale across scripts, so one threshold overflags one and misses in another.
        from assist.compliance.guard.model_text import SCRIPTS, script_of

        script = np.array([script_of(items[i].text) for i in idx])
        for name in SCRIPTS:
            rows = sel & (script == name)
            if (rows & pos).any() and (rows & ~pos).any():
                by_script[name] = fit_both(rows)
        if ordinary_budget < 1.0:  # the ordinary-talk budget holds in each script too
            oc, os_ = ordinary_scores(items, oof)
            oscript = np.array([script_of(items[i].text) for i in _ordinary_rows(items)])
            for name in by_script:
                m = oscript == name
                by_script[name] = cap_ordinary(*by_script[name], oc[m], os_[m], ordinary_budget, grid)
        for name, (b, w) in by_script.items():
            bt = np.where(script == name, b[cats], bt)
            wt = np.where(script == name, w[cats], wt)
    fb = (scores >= bt) | (det_block if det_block is not None else False)
    fw = (scores >= wt) | (det_flag if det_flag is not None else False)
    figures: dict[str, Any] = {
        "recall_flag": round(float(fw[pos].mean()), 4),
        "recall_block": round(float(fb[pos].mean()), 4),
        "fpr_block": round(float(fb[~pos].mean()), 4),
        "fpr_flag": round(float(fw[~pos].mean()), 4),
        "calibrated_for": "combined" if combined is not None else "model",
    }
    if by_script:
        figures["by_script"] = {
            name: {"block": _listed(b), "warn": _listed(w)} for name, (b, w) in sorted(by_script.items())
        }
    extra = [i for i, it in enumerate(items) if it.kind == "extra"]
    if extra:
        ec, es = statement_scores([oof[i] for i in extra])
        figures["extra_negatives_flagged"] = round(float((es >= warn[ec]).mean()), 4)
    return block, warn, figures


def _listed(thresholds: np.ndarray) -> list[float | None]:
    """Thresholds as a JSON-ready list (None = never)."""
    return [None if not np.isfinite(t) else float(t) for t in thresholds]


def ordinary_scores(items: Sequence[Any], oof: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Best category and score, out of fold, of the corpus's ordinary talk (kind ``ordinary``: everyday agent
    lines that are near no claim, unlike the ``service`` near-misses)."""
    return statement_scores([oof[i] for i in _ordinary_rows(items)])


def _ordinary_rows(items: Sequence[Any]) -> list[int]:
    """Indices of the corpus's ordinary talk among ``items``."""
    return [
        i
        for i, it in enumerate(items)
        if it.kind == "corpus" and it.label == 0 and getattr(it, "tag", "") in ORDINARY_KINDS
    ]


def cap_ordinary(
    block: np.ndarray, warn: np.ndarray, cats: np.ndarray, scores: np.ndarray, budget: float, grid: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """Raise the thresholds of the categories that flag ordinary talk until at most ``budget`` of it is flagged.

    One grid step at a time, the category flagging the most ordinary statements first; a block threshold
    never sits below its warn threshold. A category past the grid's top flags nothing.
    """
    block, warn = block.copy(), warn.copy()
    steps = np.asarray(sorted(grid), np.float64)
    limit = budget * max(1, len(scores))
    while True:
        flagged = scores >= warn[cats]
        if float(flagged.sum()) <= limit:
            return block, warn
        k = int(np.bincount(cats[flagged]).argmax())
        higher = steps[steps > warn[k] + 1e-9]
        warn[k] = float(higher[0]) if len(higher) else np.inf
        block[k] = max(block[k], warn[k])


def calibration_hook(guard: Any, policy: Any, categories: Sequence[str]) -> CombinedHook:
    """The combination rule as :func:`calibrate_items` sees it, for ``guard``'s rules."""
    from assist.compliance.guard.combine import deterministic_action, model_allowed
    from assist.compliance.guard.layered import deterministic_trace

    cache: dict[str, Any] = {}

    def hook(text: str, spans: Sequence[tuple[int, int]], probs: np.ndarray) -> tuple[str, np.ndarray]:
        if text not in cache:
            cache[text] = deterministic_trace(guard, text)
        matches, suppressed = cache[text]
        return (
            deterministic_action(matches, spans, probs, policy, text, categories),
            model_allowed(suppressed, spans, probs, categories, policy, text),
        )

    return hook
