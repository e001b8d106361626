"""Shortcuts through framework internals, every one of them here, behind WALLETQL_FAST_PATHS.

With the setting on (the default), walletql takes these shortcuts; off, it is plain Strawberry,
Starlette, uvicorn and Tortoise, and the whole test suite passes in both modes (CI runs both).
bench/README.md publishes the figures of both. Each shortcut has a test that runs it beside
the framework's own path and compares what they answer:

- graphql_core: the executor without its reference cycle (`async_helpers`), copied directly
  (`__copy__`), reading plain fields directly (`execute_field`, `collect_and_execute_subfields`,
  `handle_field_error`), and sharing subscription results (walletql.fanout).
  tests/api/test_garbage.py, test_plain_fields.py, test_subscription_sharing.py.
- strawberry: documents parsed and validated once per query text (Strawberry's unexported
  `validate_document` on its graphql-core schema, `_schema`); plain fields recognised by the
  marks Strawberry leaves on them (`_is_default`, the "strawberry-definition" extension);
  scalar-only inputs built directly (`from_input`, set after the type is made).
  tests/api/test_security.py, test_plain_fields.py, test_inputs.py.
- tortoise: the asyncpg pool Tortoise opened (`_pool`) and its row loader (`_init_from_db`).
  tests/test_rows.py.

The executor and the document cache are chosen per schema (walletql.api.build_schema); inputs
and row loading are process-wide, set by `install` when the app is built.
"""

from __future__ import annotations

from walletql.models import rows
from walletql.schema.inputs import BUILT_DIRECTLY
from walletql.shortcuts.strawberry import build_inputs_directly


def install(on: bool) -> None:
    """Take the process-wide shortcuts (on), or leave the frameworks' own paths (off)."""
    build_inputs_directly(BUILT_DIRECTLY, on)
    rows.use_fast_paths(on)
