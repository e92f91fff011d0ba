"""The cluster test's traffic: 20 calls at once through the balancer, each with an ASR connector posting its turns
and an agent's side panel listening on the call's socket, and one replica SIGKILLed in the middle of the run.

- The connector posts every turn with its own Idempotency-Key and, on a connection error (or the balancer's
  502/503/504 for a replica that died under it), posts it again with the same key until it is answered.
- The panel keeps the messages it receives. When its socket breaks (its replica died) it connects again through
  the balancer, asking to resume after the last turn it saw when the client supports it (the fan-out work).
- Everything waits on conditions with deadlines; nothing sleeps for timing.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from assist.calls.messages import ChecklistMessage, ResumedMessage, turn_messages
from assist.client import ApiError, AsyncAssistClient, AsyncCallStream, ClientError
from assist.models.calls import ComplianceAlert, SuggestionMessage, TurnResult

logger = logging.getLogger(__name__)

TURNS_PER_CALL = 26  # x 20 calls = 520 turns
KILL_AT = 0.4  # the share of all turns answered when one replica is killed
DEADLINE_S = 150.0  # for any one thing to happen; generous, the machine is shared
RETRYABLE_STATUS = (502, 503, 504)

CUSTOMER = [
    "我的信用卡丢了怎么办？",
    "How long does a transfer abroad take?",
    "信用卡年费怎么收？",
    "I want to dispute a transaction I did not make",
    "基金赎回多久到账？",
    "My card was stolen, how do I block it?",
    "保险的犹豫期有多长？",
    "How do I make a complaint?",
]
AGENT = [
    "Let me check that for you.",
    "This fund is guaranteed to return eight percent, no risk at all.",  # the guard's alert
    "好的，我帮您查一下。",
    "I have noted that on your file.",
]
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def marker(call: int, turn: int) -> str:
    """A tag in letters only (redaction leaves it alone) naming the call and the turn: finds each turn once."""
    return f"ref{LETTERS[call // 26]}{LETTERS[call % 26]}{LETTERS[turn // 26]}{LETTERS[turn % 26]}"


def shown(message: object) -> tuple[str, int] | None:
    """(type, turn) of a message that shows a turn's result on the panel; None for anything else."""
    if isinstance(message, SuggestionMessage | ComplianceAlert | ChecklistMessage):
        return (message.type, message.turn)
    return None


@dataclass
class CallRun:
    """One call's record: what its connector was answered, what its panel received."""

    index: int
    key: str
    call_id: str = ""
    texts: dict[int, str] = field(default_factory=dict)  # turn number → the text sent
    answers: list[TurnResult] = field(default_factory=list)  # in the order posted
    answered_at: list[float] = field(default_factory=list)  # wall clock of each answer
    received: list[tuple[str, int]] = field(default_factory=list)  # the panel's (type, turn), in order
    # a resumed socket's replay: (after, through) of each, and the checklist it stood for the missed turns with
    windows: list[tuple[int, int]] = field(default_factory=list)
    snapshots: list[tuple[int, int]] = field(default_factory=list)  # (turn of the checklist, window's through)
    retries: int = 0
    reconnects: int = 0
    resumed: int = 0  # reconnects that asked to resume after a turn
    posted_all: bool = False
    ended: bool = False
    error: str = ""

    def expected(self) -> list[tuple[str, int]]:
        """What the panel should show: each turn's messages, turn after turn.

        A resumed socket is sent the stored alerts and suggestions of the turns it missed and then the current
        checklist once, in place of each missed turn's checklist-only update (those are not stored: the fan-out
        design, assist/calls/replay.py); so those updates are not expected inside a replay window.
        """
        return [
            t
            for r in self.answers
            for m in turn_messages(r)
            if (t := shown(m)) is not None and not (t[0] == "checklist" and any(a < t[1] <= b for a, b in self.windows))
        ]


@dataclass
class Run:
    """The whole run: every call, and when the replica was killed."""

    calls: list[CallRun]
    killed_at: float = 0.0  # wall clock (time.time(), as nginx's $msec)
    answered_before_kill: int = 0

    def answered(self) -> int:
        return sum(len(c.answers) for c in self.calls)


def _retryable(exc: ClientError) -> bool:
    if isinstance(exc, ApiError):
        if exc.status_code in RETRYABLE_STATUS:
            return True
        # the first attempt's replica died while answering: its claim on the key is taken over shortly
        return exc.status_code == 409 and "Idempotency-Key" in exc.detail
    return True  # the balancer could not be reached or the connection broke


async def post_turn(api: AsyncAssistClient, run: CallRun, speaker: str, text: str) -> TurnResult:
    """One turn, posted until answered; every attempt with the same Idempotency-Key."""
    key = str(uuid.uuid4())
    deadline = time.monotonic() + DEADLINE_S
    while True:
        try:
            return await api.post_utterance(run.call_id, speaker, text, idempotency_key=key)  # type: ignore[arg-type]
        except ClientError as exc:
            if not _retryable(exc) or time.monotonic() > deadline:
                raise
            run.retries += 1
            await asyncio.sleep(0.2)  # a connector's back-off between attempts


async def connector(api: AsyncAssistClient, run: CallRun, on_answer: Callable[[], None]) -> None:
    """The ASR connector: customer and agent turns in turn, each posted (and retried) until answered."""
    for i in range(TURNS_PER_CALL):
        speaker = "customer" if i % 2 == 0 else "agent"
        pool = CUSTOMER if speaker == "customer" else AGENT
        text = f"{pool[(run.index + i // 2) % len(pool)]} {marker(run.index, i)}"
        result = await post_turn(api, run, speaker, text)
        assert result.turn is not None
        run.texts[result.turn] = text
        run.answers.append(result)
        run.answered_at.append(time.time())
        on_answer()
    run.posted_all = True


async def open_panel(api: AsyncAssistClient, run: CallRun, after: int | None) -> AsyncCallStream:
    """The call's socket through the balancer; resuming after turn `after` when the client can ask for it."""
    deadline = time.monotonic() + DEADLINE_S
    resumable = "after" in inspect.signature(api.connect).parameters
    while True:
        try:
            if after is not None and resumable:
                stream = await api.connect(run.call_id, after=after)  # type: ignore[call-arg]
                run.resumed += 1
                return stream
            return await api.connect(run.call_id)
        except ClientError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)  # the balancer may still be routing to the dead replica


async def panel(api: AsyncAssistClient, run: CallRun, stream: AsyncCallStream) -> None:
    """The side panel: keeps what it is shown; reconnects when its socket breaks; stops once it has it all."""
    quiet_since: float | None = None
    replaying = False  # between a resume and its `resumed` message
    while True:
        try:
            message = await stream.receive(timeout=1.0)
        except TimeoutError:
            if run.posted_all or run.error:
                if len(run.received) >= len(run.expected()):
                    break  # everything arrived
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since > 30:
                    break  # it will not come: the test reports what is missing
            continue
        except ClientError:  # the replica behind the socket died
            run.reconnects += 1
            last = max((t for _, t in run.received), default=0)
            resumes = run.resumed
            stream = await open_panel(api, run, after=last)
            replaying = run.resumed > resumes
            continue
        quiet_since = None
        if isinstance(message, ResumedMessage):
            run.windows.append((message.after, message.through))
            replaying = False
            run.snapshots = [(t, message.through) if b < 0 else (t, b) for t, b in run.snapshots]
        elif replaying and isinstance(message, ChecklistMessage):
            run.snapshots.append((message.turn, -1))  # the current checklist, standing for the missed updates
        elif (item := shown(message)) is not None:
            run.received.append(item)
    await stream.close()


async def one_call(base_url: str, run: CallRun, on_answer: Callable[[], None]) -> None:
    """A call from start to end: the panel subscribed first, then the connector's turns, then the end."""
    async with AsyncAssistClient(base_url, run.key, timeout=60.0) as api:
        run.call_id = await api.create_call()
        stream = await open_panel(api, run, after=None)
        listening = asyncio.create_task(panel(api, run, stream))
        try:
            await connector(api, run, on_answer)
        except Exception as exc:  # recorded; the assertions name the call
            run.error = f"{type(exc).__name__}: {exc}"
            logger.exception("call %s failed", run.index)
        await listening
        await end_call(api, run)


async def end_call(api: AsyncAssistClient, run: CallRun) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while True:
        try:
            await api.end_call(run.call_id)
            run.ended = True
            return
        except ApiError as exc:
            if exc.status_code == 409:  # a retried end that the first attempt had done
                run.ended = True
                return
            if exc.status_code not in RETRYABLE_STATUS or time.monotonic() > deadline:
                raise
        except ClientError:
            if time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.2)  # back-off between attempts


async def drive(base_url: str, agent_keys: list[str], kill: Callable[[], None]) -> Run:
    """Run every call at once; call `kill` (in a thread) once KILL_AT of all turns were answered."""
    run = Run([CallRun(i, key) for i, key in enumerate(agent_keys)])
    total = len(run.calls) * TURNS_PER_CALL
    reached = asyncio.Event()

    def on_answer() -> None:
        if run.answered() >= KILL_AT * total:
            reached.set()

    async def killer() -> None:
        await reached.wait()
        run.answered_before_kill = run.answered()
        run.killed_at = time.time()
        await asyncio.to_thread(kill)

    kill_task = asyncio.create_task(killer())
    await asyncio.gather(*(one_call(base_url, c, on_answer) for c in run.calls))
    if not kill_task.done():
        kill_task.cancel()
    return run
