"""Check a text against the rules in force."""

from __future__ import annotations

from fastapi import APIRouter

from assist.deps import CurrentKey, GuardDep, SettingsDep
from assist.errors import InvalidInputError
from assist.models.guard import GuardCheckIn, VerdictPublic

router = APIRouter(prefix="/v1/guard", tags=["guard"])


@router.post("/check", response_model=VerdictPublic)
def check(body: GuardCheckIn, guard: GuardDep, settings: SettingsDep, _key: CurrentKey) -> VerdictPublic:
    """The verdict (block, warn or allow) and the rule matches for one text."""
    if len(body.text) > settings.max_utterance_chars:
        raise InvalidInputError(
            f"text is {len(body.text)} characters, over the limit of {settings.max_utterance_chars}"
        )
    verdict = guard.check(body.text, speaker=body.speaker)
    return VerdictPublic.model_validate(verdict.to_dict())
