"""Plain fields read directly (walletql.shortcuts.graphql_core.Execution) answer exactly what graphql-core's
own path answers: the same data, and the same errors at the same paths, for every value a plain
field can hold, good or bad. Only the cost differs, so the same queries run on both executors."""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from walletql.schema.scalars import SCALARS, DateTime, Money
from walletql.shortcuts.graphql_core import Execution


@strawberry.enum
class Side(enum.Enum):
    CREDIT = "CREDIT"
    DEBIT = "DEBIT"


@strawberry.type
class Part:
    name: str
    size: int | None

    @strawberry.field
    async def later(self) -> str:
        if self.name == "boom":
            raise ValueError("boom")
        return self.name


class Eventually:
    """An awaitable attribute value: graphql-core awaits it before completing the field."""

    def __init__(self, value) -> None:
        self.value = value

    def __await__(self):
        return self._value().__await__()

    async def _value(self):
        return self.value


@strawberry.type
class Line:
    id: strawberry.ID
    label: str
    note: str | None
    count: int
    ratio: float
    side: Side
    maybe_side: Side | None
    amount: Money
    at: DateTime
    tags: list[str]
    part: Part
    maybe_part: Part | None

    @strawberry.field
    def shout(self) -> str:
        return self.label.upper()


GOOD = dict(
    id=strawberry.ID("7"),
    label="rent",
    note=None,
    count=3,
    ratio=0.5,
    side=Side.DEBIT,
    maybe_side=None,
    amount="12.50",
    at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    tags=["a", "b"],
    part=Part(name="p", size=1),
    maybe_part=None,
)
# Each a value its field's type refuses or a null where none is allowed: graphql-core answers an
# error at that field's path, and null up to the nearest nullable parent.
BAD = [
    {"label": None},
    {"note": ["x"]},
    {"count": "three"},
    {"count": 2**40},
    {"side": "SIDEWAYS"},
    {"maybe_side": "SIDEWAYS"},
    {"amount": 12.5},
    {"amount": Decimal("NaN")},
    {"amount": None},
    {"at": "yesterday"},
    {"id": None},
    {"tags": None},
    {"part": None},
    {"part": Part(name=None, size=1)},  # a null below a non-null object: up to the line
    {"maybe_part": Part(name=None, size=1)},  # stops at maybePart
    {"part": Part(name="boom", size=1)},  # an error from an awaited resolver below
    {"maybe_part": Part(name="boom", size=1)},
    {"part": "not a part"},
    {"part": ValueError("an exception as a value")},
    {"part": GOOD},  # a dict: plain fields read attributes, not keys
]
ODD_BUT_VALID = [
    {"amount": Decimal("3.10")},
    {"at": datetime(2026, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2)))},
    {"count": True},
    {"id": 42},
    {"side": "CREDIT"},
    {"note": 12.5},
    {"maybe_side": Side.CREDIT},
    {"maybe_part": Part(name="q", size=None)},
    {"part": Eventually(Part(name="r", size=2)), "amount": Eventually("1.00")},
]


def _line(**changes) -> Line:
    line = Line(**GOOD)
    for name, value in changes.items():
        object.__setattr__(line, name, value)
    return line


@strawberry.type
class Query:
    @strawberry.field
    def lines(self, case: int) -> list[Line | None]:
        return [_line(), _line(**(BAD + ODD_BUT_VALID)[case]), _line()]

    @strawberry.field
    def required(self, case: int) -> Line:
        return _line(**(BAD + ODD_BUT_VALID)[case])


QUERY = """
query Q($case: Int!) {
  lines(case: $case) { id label note count ratio side maybeSide amount at tags shout
                       again: label __typename part { name size } maybePart { name later }
                       other: part { later } }
  required(case: $case) { label note count side amount at id part { size } }
}
"""


def _schema(execution_class) -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        config=StrawberryConfig(scalar_map=SCALARS),
        execution_context_class=execution_class,
    )


def _answer(result) -> tuple:
    errors = sorted(
        (e.message, tuple(e.path or ()), tuple((loc.line, loc.column) for loc in e.locations or ()))
        for e in result.errors or ()
    )
    return result.data, errors


@pytest.mark.parametrize("case", range(len(BAD) + len(ODD_BUT_VALID)))
async def test_plain_fields_answer_as_graphql_core_does(case):
    graphql_core = _schema(StrawberryGraphQLCoreExecutionContext)
    direct = _schema(Execution)
    expected = _answer(await graphql_core.execute(QUERY, variable_values={"case": case}))
    assert _answer(await direct.execute(QUERY, variable_values={"case": case})) == expected
    if case < len(BAD):
        assert expected[1], "every BAD value is an error"
    else:
        assert not expected[1]


async def test_plain_fields_skip_graphql_cores_resolve_info(monkeypatch):
    built = {"count": 0}
    original = StrawberryGraphQLCoreExecutionContext.build_resolve_info

    def counting(self, *args):
        built["count"] += 1
        return original(self, *args)

    monkeypatch.setattr(StrawberryGraphQLCoreExecutionContext, "build_resolve_info", counting)
    result = await _schema(Execution).execute(QUERY, variable_values={"case": len(BAD)})
    assert not result.errors
    # lines and required; on each of the three lines `shout` and `later` (resolvers), `tags` (a
    # list), `__typename`, and the plain fields holding null (note, maybeSide, maybePart take
    # graphql-core's path); required's note. Not the other 11 fields of each line (part and its
    # fields among them) and 7 of required.
    assert built["count"] == 2 + 3 * 7 + 1


class Shouting(SchemaExtension):
    def resolve(self, _next, root, info, *args, **kwargs):
        result = _next(root, info, *args, **kwargs)
        return result.upper() if isinstance(result, str) else result


async def test_field_middleware_still_sees_plain_fields():
    schema = strawberry.Schema(
        query=Query,
        config=StrawberryConfig(scalar_map=SCALARS),
        execution_context_class=Execution,
        extensions=[Shouting],
    )
    result = await schema.execute(QUERY, variable_values={"case": len(BAD)})
    assert not result.errors
    assert result.data["lines"][0]["label"] == "RENT"
    assert result.data["lines"][0]["again"] == "RENT"
    assert result.data["required"]["label"] == "RENT"
