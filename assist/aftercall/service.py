"""What the after-call routes share, built once per app on first use: the ticket templates, the QA rubric,
the playbooks (topics of a turn) and the webhook sender."""

from __future__ import annotations

import logging
import threading
from functools import cached_property
from typing import Any

from assist.aftercall.choice import TemplateChooser
from assist.aftercall.live import LiveTicketValues
from assist.aftercall.meaning import CallMeaning
from assist.aftercall.qa_meaning import TurnJudge
from assist.aftercall.templates import TemplateSet, load_templates
from assist.config import Settings
from assist.errors import TemplateError

logger = logging.getLogger(__name__)


class AfterCall:
    """Templates, rubric, playbooks and webhook sender of one app (each loaded once, when first needed).

    Args:
        settings: the app's settings.
        sender: the webhook sender (default: made from ASSIST_TICKET_WEBHOOK_URL when set).
        meaning: the live engine's turn vectors and turn model (None: the keyword rules alone).
    """

    def __init__(self, settings: Settings, *, sender: Any = None, meaning: CallMeaning | None = None) -> None:
        self.settings = settings
        self._sender = sender
        self.meaning = meaning
        self.live: LiveTicketValues | None = None  # ticket values the live path extracted (set by the app)

    def warm_up(self) -> None:
        """Compile the rubric's phrase lists and embed the templates' and the rubric's examples now
        (start-up), not on the first call's draft or scorecard (nothing to embed without `meaning`)."""
        try:
            from assist.aftercall.qa import compile_phrases
            from assist.aftercall.scorecards import verify_phrases

            compile_phrases(self.rubric, verify_phrases(self.playbooks))
        except TemplateError:  # logged here; scoring reports it with the file's name when a call ends
            logger.exception("QA rubric not loaded at start-up")
            return
        if self.meaning is None or self.judge is None:
            return
        groups = self.chooser.groups()
        if groups is not None:
            groups.warm_up()
        for criterion in self.rubric.criteria:
            if criterion.examples:
                self.judge.warm_up(criterion)

    @cached_property
    def chooser(self) -> TemplateChooser:
        """Which template a call needs (by meaning when `meaning` is set, else by the rules)."""
        return TemplateChooser(self.templates, self.meaning, topics_in=self.playbooks.topics_in)

    @cached_property
    def judge(self) -> TurnJudge | None:
        """Agent turns read by meaning against the rubric's examples (None without `meaning`)."""
        return TurnJudge(self.meaning) if self.meaning is not None else None

    @cached_property
    def templates(self) -> TemplateSet:
        """The ticket templates (ASSIST_TICKETS_DIR, default kb_docs/tickets)."""
        return load_templates(self.settings.tickets_path)

    @cached_property
    def rubric(self) -> Any:
        """The QA rubric (assist.aftercall.qa.Rubric)."""
        from assist.aftercall.qa import load_rubric

        return load_rubric(self.settings.qa_rubric_path)

    @cached_property
    def playbooks(self) -> Any:
        """The playbooks (topics and steps), as the live engine reads them."""
        from assist.calls.playbooks import Playbooks

        return Playbooks(self.settings.playbooks_path)

    @property
    def sender(self) -> Any:
        """The webhook sender, or None when ASSIST_TICKET_WEBHOOK_URL is unset."""
        if self._sender is None and self.settings.ticket_webhook_url:
            from assist.aftercall.tickets import WebhookSender

            self._sender = WebhookSender(
                self.settings.ticket_webhook_url,
                attempts=self.settings.ticket_webhook_attempts,
                timeout_s=self.settings.ticket_webhook_timeout_s,
                backoff_s=self.settings.ticket_webhook_backoff_s,
            )
        return self._sender

    @sender.setter
    def sender(self, value: Any) -> None:
        self._sender = value


_LOCK = threading.Lock()


def aftercall_of(state: Any, settings: Settings) -> AfterCall:
    """The app's AfterCall (made on first use and kept on `app.state.aftercall`)."""
    with _LOCK:
        svc = getattr(state, "aftercall", None)
        if svc is None:
            svc = AfterCall(settings)
            state.aftercall = svc
        return svc  # type: ignore[no-any-return]
