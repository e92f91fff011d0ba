"""After-call quality and cost: labelled calls replayed through the live engine (issue #19).

Each line of ``benchmarks/data/aftercall_calls.jsonl`` is one call, written and labelled by a person who never
saw the code: ``{"turns": [{"speaker", "text"}], "expected_ticket": {"template", "fields": {name: value}} | null,
"expected_qa": {criterion_id: true | false}}``. Optional keys: ``"id"``; ``"call_date"`` (YYYY-MM-DD, what
relative dates such as 昨天 or "last Friday" are resolved against; default: the day of the run);
``"ticket_submitted"`` (whether the agent submitted the ticket before the call ended; default: when the call
has an ``expected_ticket``, the agent confirms it as labelled and submits it, as the panel's form lets them,
unless the labels say no ticket was submitted: ``expected_qa.ticket_submitted`` false, the labeller's record
that the agent never registered the case; ``--submit always`` submits then too, ``--submit never`` never).

Each call opens a call on the engine as ``assist serve`` builds it (index of ``kb_docs/``), sends its turns,
and after every turn computes the ticket draft, as the panel's ``GET /v1/calls/{id}/ticket`` does. Reported:

- ticket: the template chosen (right / wrong / none when one was expected), and field accuracy on the draft at
  the end of the call: typed fields (amount, currency, date, time, card_last4, merchant, channel,
  product_name) compared exactly after normalisation; free-text fields (description, new_value) graded as
  present or absent (the labels are the labeller's summaries), and reported apart; a field labelled empty
  (null) is right when the draft leaves it empty;
- QA: agreement of each automatic criterion verdict with the label (per criterion and overall);
- cost: the draft's time after each turn (p50, p95: the database reads and the extraction, as the route
  computes it; and the extraction alone on turns in memory), the end-of-call response time, and the time
  to score the ended call (done off the response, on the scoring thread), and the time from the end-of-call
  request to the scorecard stored (the response, whatever the scoring thread still had queued, the scoring).

Usage:
    .venv/bin/python -m benchmarks.bench_aftercall [--calls benchmarks/data/aftercall_calls.jsonl]
        [--embedders minilm,e5 | hash] [--data /tmp/assist-bench-aftercall] [--json out.json] [--show-misses]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CALLS = ROOT / "benchmarks" / "data" / "aftercall_calls.jsonl"
TEXT_TYPES = {"text"}
SUBMIT = "labelled"  # --submit: "never" replays the calls with no ticket submitted in the panel; "always" submits
# the labelled ticket even on a call labelled as one where no ticket was submitted (the default before 2026-12-06)
SPEAKERS = {"customer", "agent"}


def read_calls(path: Path) -> list[dict[str, Any]]:
    """The labelled calls; SystemExit naming the line and the problem when one is malformed."""
    if not path.is_file():
        raise SystemExit(f"{path}: no such file (the labelled calls, one JSON object a line)")
    rows: list[dict[str, Any]] = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SystemExit(f"{path}:{i}: not JSON: {exc}") from exc
        turns = row.get("turns")
        if not isinstance(turns, list) or not turns:
            raise SystemExit(f"{path}:{i}: 'turns' must be a non-empty list")
        for t in turns:
            if not isinstance(t, dict) or t.get("speaker") not in SPEAKERS or not str(t.get("text", "")).strip():
                raise SystemExit(f"{path}:{i}: each turn needs a speaker (customer or agent) and a text, got {t!r}")
        ticket = row.get("expected_ticket")
        if ticket is not None and (not isinstance(ticket, dict) or "template" not in ticket):
            raise SystemExit(f"{path}:{i}: 'expected_ticket' must be null or {{template, fields}}")
        if not isinstance(row.get("expected_qa", {}), dict):
            raise SystemExit(f"{path}:{i}: 'expected_qa' must be an object of criterion id: true | false")
        if row.get("call_date") is not None:
            try:
                date.fromisoformat(str(row["call_date"]))
            except ValueError as exc:
                raise SystemExit(f"{path}:{i}: 'call_date' must be YYYY-MM-DD, got {row['call_date']!r}") from exc
        row.setdefault("id", f"line{i}")
        rows.append(row)
    return rows


def percentile(xs: list[float], p: float) -> float:
    """The p-th percentile (nearest rank); NaN for no values."""
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[max(0, min(len(s) - 1, round(p / 100 * (len(s) - 1))))]


def timing(xs: list[float]) -> dict[str, float]:
    return {
        "n": len(xs),
        "p50": round(percentile(xs, 50), 3),
        "p95": round(percentile(xs, 95), 3),
        "max": round(max(xs), 3) if xs else float("nan"),
        "mean": round(statistics.fmean(xs), 3) if xs else float("nan"),
    }


# -- comparing values ----------------------------------------------------------------------------------------------


def _empty(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def norm_value(kind: str, v: Any) -> str:
    """A value as compared: amounts as numbers, codes upper case, other text folded and without spaces."""
    from assist.text import to_simplified

    s = str(v).strip()
    if kind == "amount":
        try:
            return str(Decimal(s.replace(",", "")).normalize())
        except InvalidOperation:
            return s
    if kind in ("currency", "card_last4", "date", "time"):
        return s.upper() if kind == "currency" else s.lower()
    return "".join(to_simplified(s).casefold().split())


def judge_ticket(expected: dict[str, Any] | None, draft: Any, types: dict[str, str]) -> dict[str, Any]:
    """The draft at the end of the call against the labelled ticket."""
    got_template = draft.template if draft is not None else None
    out: dict[str, Any] = {"expected_template": expected and expected["template"], "template": got_template}
    if expected is None:
        out["template_ok"] = got_template is None
        out["fields"] = []
        return out
    out["template_ok"] = got_template == expected["template"]
    values = {f.name: f.value for f in draft.fields} if draft is not None and out["template_ok"] else {}
    fields = []
    for name, want in (expected.get("fields") or {}).items():
        kind = types.get(name, "text")
        got = values.get(name)
        if not out["template_ok"]:
            ok = False  # another template's form: none of this one's fields is right, not even an empty one
        elif _empty(want):
            ok = _empty(got)
        elif _empty(got):
            ok = False
        elif kind in TEXT_TYPES:
            ok = True  # free text is graded as present or absent (the labels are summaries, not quotes)
        else:
            ok = norm_value(kind, got) == norm_value(kind, want)
        fields.append({"field": name, "type": kind, "expected": want, "got": got, "ok": ok})
    out["fields"] = fields
    return out


# -- the replay ----------------------------------------------------------------------------------------------------


def build(data_dir: Path, embedders: list[str]) -> Any:
    """The services as `assist serve` builds them, on an index of kb_docs/ (ingested when the dir is empty)."""
    from assist.config import Settings
    from assist.services import build_services

    settings = Settings(data_dir=data_dir, embedders=embedders)
    return build_services(settings, ingest_if_empty=True)


def _set_call_date(db_engine: Any, call_id: str, day: str) -> None:
    from sqlmodel import Session

    from assist.models.calls import Call

    with Session(db_engine) as session:
        row = session.get(Call, call_id)
        assert row is not None
        row.created_at = datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=UTC).replace(hour=10)
        session.add(row)
        session.commit()


def _draft(session: Any, svc: Any, call_id: str) -> Any:
    from assist.aftercall.tickets import draft_for_call
    from assist.errors import NotFoundError

    after = svc.aftercall
    try:
        return draft_for_call(
            session,
            call_id=call_id,
            templates=after.templates,
            topics_in=after.playbooks.topics_in,
            chooser=after.chooser,
            live=after.live,
        )
    except NotFoundError:
        return None


def _submit(session: Any, call_id: str, ticket: dict[str, Any], svc: Any) -> None:
    """The agent confirms the labelled values and submits (stored as POST /v1/tickets stores a ticket)."""
    from assist.models.aftercall import Ticket

    template = svc.aftercall.templates.get(ticket["template"])
    fields = {k: v for k, v in (ticket.get("fields") or {}).items() if not _empty(v)}
    version = getattr(template, "version", 1) if template is not None else 1
    session.add(Ticket(call_id=call_id, template=ticket["template"], template_version=version, fields=fields))
    session.commit()


def submits(row: dict[str, Any]) -> bool:
    """Whether the agent submits the labelled ticket in the panel (`--submit`): labelled, when the call has an
    expected ticket and its labels do not say that no ticket was submitted; always, whenever it has one."""
    if SUBMIT == "never" or row.get("expected_ticket") is None:
        return False
    return SUBMIT == "always" or (row.get("expected_qa") or {}).get("ticket_submitted") is not False


def replay(svc: Any, row: dict[str, Any]) -> dict[str, Any]:
    """One labelled call through the engine: drafts after every turn, the ticket, the end, the scorecard."""
    from sqlmodel import Session

    from assist.aftercall.scorecards import get_card, public
    from assist.aftercall.tickets import CallTurn, fill_draft

    engine, db = svc.call_engine, svc.db_engine
    live_ms: list[float] = []
    hook = engine.on_turn
    if hook is not None:  # the live path's ticket extraction, timed per turn (CallEngine.on_turn)

        def timed(*args: Any) -> None:
            t0 = time.perf_counter()
            hook(*args)
            live_ms.append((time.perf_counter() - t0) * 1000)

        engine.on_turn = timed
    call_id = engine.start_call()
    if row.get("call_date"):
        _set_call_date(db, call_id, str(row["call_date"]))
    draft_ms: list[float] = []
    extract_ms: list[float] = []
    turn_ms: list[float] = []
    said: list[CallTurn] = []
    draft = None
    for n, t in enumerate(row["turns"], 1):
        t0 = time.perf_counter()
        engine.handle_turn(call_id, speaker=t["speaker"], text=t["text"])
        turn_ms.append((time.perf_counter() - t0) * 1000)
        said.append(CallTurn(n, t["speaker"], engine.redact(t["text"])))
        t0 = time.perf_counter()
        with Session(db) as session:
            draft = _draft(session, svc, call_id)
        draft_ms.append((time.perf_counter() - t0) * 1000)
        if draft is not None:
            template = svc.aftercall.templates.get(draft.template)
            ref = date.fromisoformat(str(row["call_date"])) if row.get("call_date") else date.today()
            t0 = time.perf_counter()
            fill_draft(template, said, call_id=call_id, ref_date=ref, language=draft.language)
            extract_ms.append((time.perf_counter() - t0) * 1000)
    expected = row.get("expected_ticket")
    types: dict[str, str] = {}
    if expected is not None:
        template = svc.aftercall.templates.get(expected["template"])
        types = {f.name: f.type for f in template.fields} if template is not None else {}
    ticket = judge_ticket(expected, draft, types)
    submit = row.get("ticket_submitted", submits(row))
    if submit and expected is not None:
        with Session(db) as session:
            _submit(session, call_id, expected, svc)
    engine.on_turn = hook
    t0 = time.perf_counter()
    engine.end_call(call_id)
    end_ms = (time.perf_counter() - t0) * 1000
    scoring = engine.on_call_ended
    scoring.drain()
    stored_ms = (time.perf_counter() - t0) * 1000  # from the end of the call to its scorecard stored
    with Session(db) as session:
        card = public(session, get_card(session, call_id))
    verdicts = {v.id: v.passed for v in card.criteria}
    qa = [
        {"criterion": c, "expected": want, "got": verdicts.get(c), "ok": verdicts.get(c) == want}
        for c, want in (row.get("expected_qa") or {}).items()
    ]
    return {
        "id": row["id"],
        "ticket": ticket,
        "qa": qa,
        "score": card.score,
        "draft_ms": draft_ms,
        "extract_ms": extract_ms,
        "live_ms": live_ms,
        "turn_ms": turn_ms,
        "end_ms": end_ms,
        "score_ms": scoring.last_ms,
        "stored_ms": stored_ms,
    }


def summarise(results: list[dict[str, Any]]) -> dict[str, Any]:
    fields = [f for r in results for f in r["ticket"]["fields"]]
    typed = [f for f in fields if f["type"] not in TEXT_TYPES]
    text = [f for f in fields if f["type"] in TEXT_TYPES]
    qa = [q for r in results for q in r["qa"]]
    per_crit: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for q in qa:
        per_crit[q["criterion"]][0] += 1
        per_crit[q["criterion"]][1] += int(q["ok"])
    with_ticket = [r for r in results if r["ticket"]["expected_template"]]

    def rate(xs: list[dict[str, Any]]) -> float | None:
        return round(sum(x["ok"] for x in xs) / len(xs), 4) if xs else None

    return {
        "calls": len(results),
        "ticket": {
            "calls_with_ticket": len(with_ticket),
            "template_right": sum(r["ticket"]["template_ok"] for r in with_ticket),
            "no_ticket_calls_right": sum(r["ticket"]["template_ok"] for r in results if r not in with_ticket),
            "field_accuracy": rate(fields),
            "fields": len(fields),
            "field_accuracy_when_template_right": rate(
                [f for r in results if r["ticket"]["template_ok"] for f in r["ticket"]["fields"]]
            ),
            "typed_field_accuracy": rate(typed),
            "typed_fields": len(typed),
            "text_field_accuracy": rate(text),
            "text_fields": len(text),
        },
        "qa": {
            "agreement": rate(qa),
            "labels": len(qa),
            "criteria": {
                c: {"labels": n, "agreed": a, "rate": round(a / n, 4)} for c, (n, a) in sorted(per_crit.items())
            },
        },
        "timings_ms": {
            "draft_per_turn": timing([x for r in results for x in r["draft_ms"]]),
            "extract_per_turn": timing([x for r in results for x in r["extract_ms"]]),
            "live_extraction_per_turn": timing([x for r in results for x in r.get("live_ms", [])]),
            "engine_turn": timing([x for r in results for x in r["turn_ms"]]),
            "end_of_call_response": timing([r["end_ms"] for r in results]),
            "scoring_after_end": timing([r["score_ms"] for r in results if r["score_ms"] is not None]),
            # the end-of-call request, anything still queued on the scoring thread, and the scoring itself
            "end_to_scorecard_stored": timing([r["stored_ms"] for r in results if "stored_ms" in r]),
        },
    }


def _profile_scoring(svc: Any) -> Any:
    """Wrap the scoring hook's `score` in one cProfile.Profile, kept over every call."""
    import cProfile

    profiler = cProfile.Profile()
    scoring = svc.call_engine.on_call_ended
    inner = scoring.score

    def profiled(call_id: str) -> None:
        profiler.enable()
        try:
            inner(call_id)
        finally:
            profiler.disable()

    scoring.score = profiled
    return profiler


def _write_profile(profiler: Any, path: Path) -> None:
    import io
    import pstats

    profiler.dump_stats(str(path))
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
    print(out.getvalue(), file=sys.stderr)  # noqa: T201 - a command-line tool's output


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=Path, default=DEFAULT_CALLS)
    ap.add_argument("--embedders", default="minilm,e5", help="comma-separated: minilm,e5 (as served) or hash")
    ap.add_argument("--data", type=Path, default=None, help="data dir (default: a new temp dir)")
    ap.add_argument("--json", type=Path, default=None, help="also write the report and every call's result here")
    ap.add_argument("--show-misses", action="store_true", help="print every wrong field and QA verdict")
    ap.add_argument(
        "--submit",
        choices=("labelled", "always", "never"),
        default="labelled",
        help="labelled: the agent submits the labelled ticket in the panel, except on a call labelled as one where "
        "no ticket was submitted (the default); always: on those too (the default before 2026-12-06); never: no "
        "ticket is submitted, so 'ticket submitted' rests on what the agent says, as the labels do",
    )
    ap.add_argument(
        "--profile-scoring",
        type=Path,
        default=None,
        help="run the end-of-call scoring under cProfile and write its statistics here (pstats; the 25 most "
        "costly functions are printed to stderr); the scoring times then include the profiler's overhead",
    )
    args = ap.parse_args(argv)
    global SUBMIT
    SUBMIT = args.submit
    rows = read_calls(args.calls)
    data_dir = args.data or Path(tempfile.mkdtemp(prefix="assist-bench-aftercall-"))
    svc = build(data_dir, [e.strip() for e in args.embedders.split(",") if e.strip()])
    profiler = _profile_scoring(svc) if args.profile_scoring else None
    try:
        results = [replay(svc, row) for row in rows]
    finally:
        svc.close()  # as the server's shutdown does: stops the background model work before the exit
    if profiler is not None:
        _write_profile(profiler, args.profile_scoring)
    report = {
        "bench": "aftercall",
        "calls_file": str(args.calls),
        "embedders": args.embedders,
        "submit": args.submit,
        **summarise(results),
    }
    print(json.dumps(report, ensure_ascii=False, indent=2))  # noqa: T201 - a command-line tool's output
    if args.show_misses:
        for r in results:
            t = r["ticket"]
            if not t["template_ok"]:
                print(f"{r['id']}: template {t['template']!r}, expected {t['expected_template']!r}", file=sys.stderr)  # noqa: T201
            for f in t["fields"]:
                if not f["ok"]:
                    print(f"{r['id']}: {f['field']} = {f['got']!r}, expected {f['expected']!r}", file=sys.stderr)  # noqa: T201
            for q in r["qa"]:
                if not q["ok"]:
                    print(f"{r['id']}: {q['criterion']} = {q['got']}, labelled {q['expected']}", file=sys.stderr)  # noqa: T201
    if args.json:
        args.json.write_text(json.dumps({"report": report, "calls": results}, ensure_ascii=False, indent=1), "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
