"""Check a text against the rules in force."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from assist.deps import CurrentKey, GuardDep, SettingsDep
from assist.errors import InvalidInputError

router = APIRouter(prefix="/v1/guard", tags=["guard"])


class GuardCheckIn(BaseModel):
    """POST /v1/guard/check."""

    text: str = Field(min_length=1)
    speaker: Literal["agent", "customer", "suggestion"] = "agent"


class VerdictPublic(BaseModel):
    """The guard's verdict, as in `assist guard check`."""

    model_config = ConfigDict(extra="allow")

    action: Literal["block", "warn", "allow"]
    matches: list[dict[str, Any]] = Field(default_factory=list)
    advice: str | None = None


@router.post("/check", response_model=VerdictPublic)
def check(body: GuardCheckIn, guard: GuardDep, settings: SettingsDep, _key: CurrentKey) -> VerdictPublic:
    """The verdict (block, warn or allow) and the rule matches for one text."""
    if len(body.text) > settings.max_utterance_chars:
        raise InvalidInputError(
            f"text is {len(body.text)} characters, over the limit of {settings.max_utterance_chars}"
        )
    verdict = guard.check(body.text, speaker=body.speaker)
    return VerdictPublic.model_validate(verdict.to_dict())
