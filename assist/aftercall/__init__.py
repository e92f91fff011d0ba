"""After the call: ticket templates filled from the conversation, QA scorecards, first-contact resolution and
the knowledge gaps editors should close (issue #19).

The modules are pure or take a database session; nothing here runs inside the live engine yet:

- :mod:`assist.aftercall.numbers` and :mod:`assist.aftercall.extract`: values (amounts, currencies, dates,
  times, card last four digits, merchants, channels, product names) from turns in three scripts;
- :mod:`assist.aftercall.templates`: the ticket templates of ``kb_docs/tickets/``;
- :mod:`assist.aftercall.tickets`: drafts, submission, status, export and webhook delivery;
- :mod:`assist.aftercall.qa`: the rubric of ``kb_docs/qa/`` and scorecards;
- :mod:`assist.aftercall.fcr`: hashed customer references and first-contact resolution;
- :mod:`assist.aftercall.gaps`: questions without an approved answer, grouped.
"""
