"""Any expression text is parsed into a tree or refused with a ValidationException, never a crash."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from kv.errors import ValidationError
from kv.evaluate import apply_update, condition_holds, project
from kv.expressions import Scope, parse_condition, parse_projection, parse_update

TOKENS = [
    "a",
    "b",
    "#n",
    "#x",
    ":v",
    ":w",
    ":nope",
    "size",
    "begins_with",
    "contains",
    "attribute_exists",
    "attribute_not_exists",
    "attribute_type",
    "if_not_exists",
    "list_append",
    "AND",
    "OR",
    "NOT",
    "BETWEEN",
    "IN",
    "SET",
    "REMOVE",
    "ADD",
    "DELETE",
    "=",
    "<>",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "(",
    ")",
    "[",
    "]",
    "0",
    "1",
    ".",
    ",",
    "status",
    "@",
    "",
]

expressions = st.lists(st.sampled_from(TOKENS), max_size=12).map(" ".join)

OPERANDS = st.sampled_from(
    ["a", "b[0]", "b[1].c", "b[9]", "#n", "#x", ":v", ":w", ":nope", "size(a)", "size(b)", "status"]
)
PATHS = st.sampled_from(["a", "b[0]", "b[1].c", "b[5]", "#n", "#x", "n.deep", "status", "id"])
FUNCTIONS = st.sampled_from(
    [
        "attribute_exists",
        "attribute_not_exists",
        "attribute_type",
        "begins_with",
        "contains",
        "size",
        "nosuch",
    ]
)
COMPARATORS = st.sampled_from(["=", "<>", "<", "<=", ">", ">="])


def _fmt(template: str) -> Any:
    return lambda *parts: template.format(*parts)


ATOMS = st.one_of(
    st.builds(_fmt("{} {} {}"), OPERANDS, COMPARATORS, OPERANDS),
    st.builds(_fmt("{} BETWEEN {} AND {}"), OPERANDS, OPERANDS, OPERANDS),
    st.builds(_fmt("{} IN ({}, {})"), OPERANDS, OPERANDS, OPERANDS),
    st.builds(_fmt("{}({})"), FUNCTIONS, OPERANDS),
    st.builds(_fmt("{}({}, {})"), FUNCTIONS, OPERANDS, OPERANDS),
)
CONDITIONS = st.recursive(
    ATOMS,
    lambda inner: st.one_of(
        st.builds(_fmt("({}) AND ({})"), inner, inner),
        st.builds(_fmt("{} OR {}"), inner, inner),
        st.builds(_fmt("NOT {}"), inner),
    ),
    max_leaves=6,
)
VALUES = st.one_of(
    OPERANDS,
    st.builds(_fmt("{} + {}"), OPERANDS, OPERANDS),
    st.builds(_fmt("{} - {}"), OPERANDS, OPERANDS),
    st.builds(_fmt("if_not_exists({}, {})"), PATHS, OPERANDS),
    st.builds(_fmt("list_append({}, {})"), OPERANDS, OPERANDS),
)
CLAUSES = st.one_of(
    st.builds(_fmt("SET {} = {}"), PATHS, VALUES),
    st.builds(_fmt("REMOVE {}"), PATHS),
    st.builds(_fmt("ADD {} {}"), PATHS, st.sampled_from([":v", ":w", ":nope"])),
    st.builds(_fmt("DELETE {} {}"), PATHS, st.sampled_from([":v", ":w", ":nope"])),
)
UPDATES = st.lists(CLAUSES, min_size=1, max_size=3).map(" ".join)

ITEM: dict[str, Any] = {
    "a": {"N": "1"},
    "b": {"L": [{"S": "x"}, {"M": {"c": {"SS": ["y"]}}}]},
    "n": {"S": "text"},
}


def scope() -> Scope:
    return Scope(
        names={"#n": "n", "#x": "x"},
        values={":v": {"N": "2"}, ":w": {"L": [{"S": "z"}]}},
    )


@settings(max_examples=400, deadline=None)
@given(st.one_of(expressions, CONDITIONS))
def test_conditions_parse_or_are_refused_and_evaluate_or_are_refused(text: str) -> None:
    try:
        tree = parse_condition(text)
        condition_holds(tree, ITEM, scope())
    except ValidationError:
        pass


@settings(max_examples=400, deadline=None)
@given(st.one_of(expressions, UPDATES))
def test_updates_parse_or_are_refused_and_apply_or_are_refused(text: str) -> None:
    try:
        update = parse_update(text)
        apply_update(update, ITEM, scope(), ("id",))
    except ValidationError:
        pass


@settings(max_examples=300, deadline=None)
@given(expressions)
def test_projections_parse_or_are_refused(text: str) -> None:
    try:
        paths = parse_projection(text)
        project(ITEM, [scope().path(p) for p in paths])
    except ValidationError:
        pass
