"""The API against its own OpenAPI document: schemathesis sends generated requests to every operation, in
process (ASGI), with an admin key, and runs its default checks on every response (no server error; status
code, content type, headers and body as documented; valid data accepted, invalid data rejected; auth not
ignored, ...).

The app is the real one (SQLite in a temp dir, the hash embedder, the rule packs of kb_docs), so a check
that fails here is a place where the document and the code disagree.

Each operation is a test of its own, once with valid data and once with invalid data (schemathesis'
default generation modes). The tests drive schemathesis' strategies with Hypothesis directly rather than
through `schema.parametrize()`, whose pytest plugin does not run on pytest 9.2.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, assume, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.modes import GenerationMode
from sqlmodel import Session

from assist.app import create_app
from assist.config import Settings
from assist.models.keys import Role
from assist.security.keys import create_key

# Examples per operation and mode: enough for each to see odd values in every field, small enough that
# the whole run stays around a minute on 2 cores. SCHEMATHESIS_EXAMPLES=200 for a deeper run by hand.
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "20"))
# The same examples on every run (a red CI names a real mismatch, not a new draw); SCHEMATHESIS_RANDOM=1 draws
# new ones, for a deeper look by hand.
DERANDOMIZE = os.environ.get("SCHEMATHESIS_RANDOM", "") != "1"

# The operations, read from the document of an app that is built but not started (no database touched).
_DOC = create_app(Settings(embedders=["hash"])).openapi()
OPERATIONS = [
    pytest.param(
        method.upper(),
        path,
        mode,
        id=f"{method.upper()} {path} {mode.value}",
    )
    for path, ops in _DOC["paths"].items()
    for method, op in ops.items()
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    # nothing to make invalid in an operation without parameters or body
    if mode is GenerationMode.POSITIVE or op.get("parameters") or op.get("requestBody")
]

# Operations whose body is checked beyond what a JSON schema can say: a file's type and content, a rule's
# phrases and regexes (they must compile and match something), a YAML pack's rules. Schema-valid input can
# be refused there with the documented 415/422 and its reason; everywhere else valid input must pass.
_CONTENT_CHECKED = {
    ("POST", "/v1/documents"): ["415", "422"],
    ("POST", "/v1/rules"): ["422"],
    ("PATCH", "/v1/rules/{rule_id}"): ["422"],
    ("POST", "/v1/rules/test"): ["422"],
    ("POST", "/v1/rules/import"): ["422"],
}
_ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]  # schemathesis' default for valid data
CONFIG = {
    "operations": [
        {
            "include-method": method,
            "include-path": path,
            "checks": {"positive_data_acceptance": {"expected-statuses": _ACCEPTED + extra}},
        }
        for (method, path), extra in _CONTENT_CHECKED.items()
    ]
}


def _same_on_the_wire(value: Any) -> bool:
    """False for a query value whose "invalid" part never reaches the server: None or [] (the HTTP client
    drops the parameter), a one-item list (sent exactly like the item itself) and an object (a query string
    has no objects: the client sends its keys, or nothing, as plain strings)."""
    if value is None or isinstance(value, dict):
        return False
    return not isinstance(value, list | tuple) or len(value) > 1


@pytest.fixture(scope="module")
def st_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, str]]]:
    """The schema of a started app (schemathesis runs its lifespan) and an admin key's headers."""
    from schemathesis.python import asgi

    data = tmp_path_factory.mktemp("schemathesis") / "data"
    app = create_app(Settings(data_dir=data, embedders=["hash"], sync_interval_s=0))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=SchemathesisConfig.from_dict(CONFIG))
    with Session(app.state.db_engine) as session:
        _, key = create_key(session, role=Role.admin, name="schemathesis")
    yield schema, {"Authorization": f"Bearer {key}"}
    asgi.shutdown_lifespans()


@pytest.mark.schemathesis
@pytest.mark.parametrize(("method", "path", "mode"), OPERATIONS)
def test_operation_conforms_to_the_document(
    st_app: tuple[Any, dict[str, str]], method: str, path: str, mode: GenerationMode
) -> None:
    schema, headers = st_app
    operation = schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        derandomize=DERANDOMIZE,
        deadline=None,
        database=None,  # no .hypothesis/ folder in the work tree; every run starts afresh
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        assume(all(_same_on_the_wire(value) for value in (case.query or {}).values()))
        case.call_and_validate(headers=headers)

    try:
        run()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise
        pytest.skip(f"no invalid input exists for {method} {path} (e.g. only free-form strings)")
