"""DynamoDB's legacy (pre-expression) parameters as expression trees.

Rules: Expected, QueryFilter, ScanFilter and KeyConditions (maps of attribute name to
ComparisonOperator and AttributeValueList, or Value/Exists for Expected) joined by
ConditionalOperator (AND, or OR) become the same condition trees as their expressions, and
AttributeUpdates (PUT, ADD, DELETE per attribute) the same Update; AttributesToGet is a
projection of top-level names. Names and values enter the request's Scope under generated
refs (``#legacy0``, ``:legacy0``), so attribute names are never parsed. A request that mixes a
legacy parameter with an expression parameter is refused, in DynamoDB's words.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kv.errors import ValidationError
from kv.expressions import And, Between, Call, Compare, In, Not, Or, Path, Scope, Update, ValueRef
from kv.values import check_attribute_name

__all__ = ["EXPRESSION_PARAMETERS", "LEGACY_PARAMETERS", "LegacyBuilder", "check_not_mixed"]

LEGACY_PARAMETERS = (
    "Expected",
    "AttributeUpdates",
    "AttributesToGet",
    "KeyConditions",
    "QueryFilter",
    "ScanFilter",
    "ConditionalOperator",
)
EXPRESSION_PARAMETERS = (
    "ConditionExpression",
    "UpdateExpression",
    "ProjectionExpression",
    "KeyConditionExpression",
    "FilterExpression",
    "ExpressionAttributeNames",
    "ExpressionAttributeValues",
)

_COMPARATORS = {"EQ": "=", "NE": "<>", "LE": "<=", "LT": "<", "GE": ">=", "GT": ">"}
_ARITY = {
    **dict.fromkeys(_COMPARATORS, 1),
    "NOT_NULL": 0,
    "NULL": 0,
    "CONTAINS": 1,
    "NOT_CONTAINS": 1,
    "BEGINS_WITH": 1,
    "BETWEEN": 2,
}


def check_not_mixed(request: Mapping[str, Any]) -> bool:
    """True when the request uses legacy parameters (ValidationException if mixed with expressions)."""
    legacy = [name for name in LEGACY_PARAMETERS if name in request]
    if not legacy:
        return False
    modern = [name for name in EXPRESSION_PARAMETERS if name in request]
    if modern:
        raise ValidationError(
            "Can not use both expression and non-expression parameters in the same request: "
            f"Non-expression parameters: {{{', '.join(legacy)}}} Expression parameters: {{{', '.join(modern)}}}"
        )
    return True


_SCALAR_ONLY = frozenset({"CONTAINS", "NOT_CONTAINS", "IN"})


def _type_of(value: Any) -> str | None:
    """The type name of a wire value (``{"N": "1"}`` is N); None if it is malformed."""
    return next(iter(value)) if isinstance(value, dict) and len(value) == 1 else None


def _check_scalars(operator: str, values: list[Any]) -> None:
    """CONTAINS, NOT_CONTAINS and IN take S, N or B values only (IN: all of one type)."""
    if operator not in _SCALAR_ONLY:
        return
    kinds = [_type_of(v) for v in values]
    for kind in kinds:
        if kind is not None and kind not in ("S", "N", "B"):
            raise ValidationError(
                f"One or more parameter values were invalid: ComparisonOperator {operator} "
                f"is not valid for {kind} AttributeValue type"
            )
    if len(set(kinds)) > 1:
        raise ValidationError(
            "One or more parameter values were invalid: AttributeValues inside "
            "AttributeValueList must all be of the same type"
        )


class LegacyBuilder:
    """Builds trees from legacy parameters, registering their names and values in ``scope``."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def _path(self, attribute: str) -> Path:
        ref = f"#legacy{len(self.scope.names)}"
        self.scope.names[ref] = check_attribute_name(attribute)
        return Path((ref,))

    def _value(self, value: Any) -> ValueRef:
        ref = f":legacy{len(self.scope.values)}"
        self.scope.values[ref] = value
        return ValueRef(ref)

    def condition(self, conditions: Any, operator: Any, member: str) -> Any:
        """The tree of a legacy condition map (None when empty)."""
        if not isinstance(conditions, dict):
            raise ValidationError(f"{member} must be a map of attribute names to conditions")
        if operator not in (None, "AND", "OR"):
            raise ValidationError(
                f"1 validation error detected: Value '{operator}' at 'conditionalOperator' failed to satisfy constraint: Member must satisfy enum value set: [AND, OR]"
            )
        if operator is not None and len(conditions) < 2:
            raise ValidationError(
                "ConditionalOperator can only be used when Filter or Expected has two or more elements"
            )
        nodes = [
            self._one(name, spec, member == "Expected", member) for name, spec in conditions.items()
        ]
        if not nodes:
            return None
        join = Or if operator == "OR" else And
        tree = nodes[0]
        for node in nodes[1:]:
            tree = join(tree, node)
        return tree

    def _one(self, name: str, spec: Any, expected: bool, member: str) -> Any:
        if not isinstance(spec, dict):
            raise ValidationError(f"{member}.{name} must be a condition object")
        operator = spec.get("ComparisonOperator")
        if expected and operator is None:
            exists = spec.get("Exists", True)
            if "Value" in spec:
                if exists is False:
                    raise ValidationError(
                        "One or more parameter values were invalid: Value cannot be used when Exists is false"
                    )
                return Compare("=", self._path(name), self._value(spec["Value"]))
            if exists is not False:
                raise ValidationError(
                    f"One or more parameter values were invalid: Exists is set to TRUE for attribute ({name}), Value must also be set"
                )
            return Call("attribute_not_exists", (self._path(name),))
        if expected and ("Value" in spec or "Exists" in spec):
            raise ValidationError(
                "One or more parameter values were invalid: Value or Exists cannot be used "
                f"together with ComparisonOperator for attribute ({name})"
            )
        values = spec.get("AttributeValueList", [])
        if operator != "IN" and operator not in _ARITY:
            raise ValidationError(
                f"1 validation error detected: Value '{operator}' at '{member}.{name}.member.comparisonOperator' failed to satisfy constraint: Member must satisfy enum value set: [IN, NULL, BETWEEN, LT, NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, CONTAINS]"
            )
        if not isinstance(values, list) or (
            len(values) != _ARITY[operator] if operator != "IN" else not values
        ):
            raise ValidationError(
                f"One or more parameter values were invalid: Invalid number of argument(s) for the {operator} ComparisonOperator"
            )
        _check_scalars(operator, values)
        path = self._path(name)
        refs = [self._value(v) for v in values]
        if operator in _COMPARATORS:
            return Compare(_COMPARATORS[operator], path, refs[0])
        if operator == "NOT_NULL":
            return Call("attribute_exists", (path,))
        if operator == "NULL":
            return Call("attribute_not_exists", (path,))
        if operator == "CONTAINS":
            return Call("contains", (path, refs[0]))
        if operator == "NOT_CONTAINS":
            return And(Call("attribute_exists", (path,)), Not(Call("contains", (path, refs[0]))))
        if operator == "BEGINS_WITH":
            return Call("begins_with", (path, refs[0]))
        if operator == "BETWEEN":
            return Between(path, refs[0], refs[1])
        return In(path, tuple(refs))

    def update(self, updates: Any) -> Update:
        """The Update of an AttributeUpdates map."""
        if not isinstance(updates, dict):
            raise ValidationError("AttributeUpdates must be a map of attribute names to updates")
        sets, removes, adds, deletes = [], [], [], []
        for name, spec in updates.items():
            if not isinstance(spec, dict):
                raise ValidationError(f"AttributeUpdates.{name} must be an update object")
            action = spec.get("Action", "PUT")
            value = spec.get("Value")
            if action == "PUT":
                if value is None:
                    raise ValidationError(
                        f"One or more parameter values were invalid: Only DELETE action is allowed when no attribute value is specified: {name}"
                    )
                sets.append((self._path(name), self._value(value)))
            elif action == "DELETE":
                if value is None:
                    removes.append(self._path(name))
                else:
                    deletes.append((self._path(name), self._value(value)))
            elif action == "ADD":
                if value is None:
                    raise ValidationError(
                        f"One or more parameter values were invalid: ADD action requires a value: {name}"
                    )
                adds.append((self._path(name), self._value(value)))
            else:
                raise ValidationError(
                    f"1 validation error detected: Value '{action}' at 'attributeUpdates.{name}.member.action' failed to satisfy constraint: Member must satisfy enum value set: [ADD, PUT, DELETE]"
                )
        return Update(tuple(sets), tuple(removes), tuple(adds), tuple(deletes), legacy=True)
