"""Helpers shared by the API tests: a fresh key of a role, its Authorization header."""

from __future__ import annotations

from fastapi import FastAPI
from sqlmodel import Session

from assist.models.keys import Role
from assist.security.keys import create_key


def new_key(app: FastAPI, role: Role, name: str | None = None) -> str:
    """A fresh key of `role` in the app's database."""
    with Session(app.state.db_engine) as session:
        _, key = create_key(session, role=role, name=name or f"{role.value}-tester")
    return key


def bearer(key: str) -> dict[str, str]:
    """The Authorization header for a key."""
    return {"Authorization": f"Bearer {key}"}
