"""Schema fuzzing: generated queries and mutations, with and without a valid token, never
produce an INTERNAL_SERVER_ERROR or a 5xx.

Hypothesis cannot drive an async test on the session's event loop, so the documents are drawn
first (derandomized, so every run sends the same ones) and then sent through the real app.
"""

from __future__ import annotations

import graphql
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import mutations, queries

from tests.api.test_contract import served_sdl

AMOUNTS = st.sampled_from(
    ["1", "0", "-1", "0.01", "1.5", "NaN", "Infinity", "1e5", " 5 ", "", "99999999999999999999999"]
)
DATETIMES = st.sampled_from(
    ["2024-01-01T00:00:00Z", "2024-01-01T00:00:00", "2024-13-01T00:00:00Z", "yesterday", ""]
)
SCALARS = {
    "Decimal": st.one_of(
        AMOUNTS.map(lambda v: graphql.StringValueNode(value=v)),
        st.integers(-(10**30), 10**30).map(lambda v: graphql.IntValueNode(value=str(v))),
        st.floats(allow_nan=False, allow_infinity=False).map(
            lambda v: graphql.FloatValueNode(value=repr(v))
        ),
    ),
    "DateTime": DATETIMES.map(lambda v: graphql.StringValueNode(value=v)),
}


def _draw(strategy, count: int) -> list[str]:
    drawn: list[str] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(document: str) -> None:
        drawn.append(document)

    collect()
    return drawn


@pytest.fixture(scope="module")
def documents() -> list[str]:
    sdl = served_sdl()
    return _draw(queries(sdl, custom_scalars=SCALARS), 120) + _draw(
        mutations(sdl, custom_scalars=SCALARS), 120
    )


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
async def test_generated_operations_never_fail_internally(gql, documents, signed_in):
    token = (await gql.signup())["token"] if signed_in else None
    failures = []
    for document in documents:
        response = await gql.post(document, token=token)
        if response.status_code >= 500:
            failures.append((document, response.status_code, response.text[:300]))
            continue
        for error in response.json().get("errors") or []:
            if (error.get("extensions") or {}).get("code") == "INTERNAL_SERVER_ERROR":
                failures.append((document, error))
    assert failures == []
