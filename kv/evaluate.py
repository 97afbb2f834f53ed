"""Expressions applied to items: conditions hold or not, updates produce the new item, projections.

Rules (DynamoDB's): a path that resolves to nothing makes a comparison false (``<>`` true);
values of different types are never ordered; every operand of an update is read from the item
as it was before the update; two paths of one update (or projection) may not overlap; key
attributes cannot be updated. Trees come from kv.expressions, refs resolve through a Scope.

Over 400 lines on purpose: conditions, updates and projections walk the same document paths
with the same type rules; one evaluator keeps those rules in one place.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Sequence
from decimal import Decimal, DecimalException
from typing import Any

from kv.errors import ValidationError
from kv.expressions import (
    And,
    Between,
    Call,
    Compare,
    In,
    Not,
    Or,
    Path,
    Scope,
    Sum,
    Update,
    ValueRef,
)
from kv.values import (
    NUMBER_CONTEXT,
    TYPES,
    compare_values,
    format_number,
    parse_number,
    values_equal,
)

__all__ = [
    "apply_update",
    "check_overlaps",
    "check_update_paths",
    "condition_holds",
    "project",
    "resolve_path",
]

Value = dict[str, Any]
Item = dict[str, Value]
Parts = tuple[str | int, ...]


def resolve_path(item: Item, parts: Parts) -> Value | None:
    """The value at ``parts`` in ``item`` (None when any step is missing or of the wrong kind)."""
    head = parts[0]
    if not isinstance(head, str):
        return None
    value: Value | None = item.get(head)
    for part in parts[1:]:
        if value is None:
            return None
        if isinstance(part, int):
            inner = value.get("L")
            value = inner[part] if inner is not None and part < len(inner) else None
        else:
            inner = value.get("M")
            value = inner.get(part) if inner is not None else None
    return value


def _size(value: Value | None) -> Value | None:
    if value is None:
        return None
    ((kind, inner),) = value.items()
    if kind == "S":
        return {"N": str(len(inner))}
    if kind == "B":
        return {"N": str(len(base64.b64decode(inner)))}
    if kind in ("SS", "NS", "BS", "L", "M"):
        return {"N": str(len(inner))}
    return None


def _operand(node: Any, item: Item, scope: Scope) -> Value | None:
    if isinstance(node, Path):
        return resolve_path(item, scope.path(node))
    if isinstance(node, ValueRef):
        return scope.value(node)
    assert isinstance(node, Call) and node.name == "size"
    return _size(_operand(node.args[0], item, scope))


def _compare(op: str, left: Value | None, right: Value | None) -> bool:
    if op == "=":
        return left is not None and right is not None and values_equal(left, right)
    if op == "<>":
        return left is None or right is None or not values_equal(left, right)
    if left is None or right is None:
        return False
    order = compare_values(left, right)
    if order is None:
        return False
    return {"<": order < 0, "<=": order <= 0, ">": order > 0, ">=": order >= 0}[op]


def _begins_with(subject: Value | None, prefix: Value | None) -> bool:
    if subject is None or prefix is None:
        return False
    if "S" in subject and "S" in prefix:
        return bool(subject["S"].startswith(prefix["S"]))
    if "B" in subject and "B" in prefix:
        return base64.b64decode(subject["B"]).startswith(base64.b64decode(prefix["B"]))
    return False


def _contains(subject: Value | None, member: Value | None) -> bool:
    if subject is None or member is None:
        return False
    ((kind, inner),) = subject.items()
    if kind == "S":
        return "S" in member and member["S"] in inner
    if kind == "B":
        return "B" in member and base64.b64decode(member["B"]) in base64.b64decode(inner)
    if kind in ("SS", "NS", "BS"):
        scalar = kind[0]
        return scalar in member and member[scalar] in inner
    if kind == "L":
        return any(values_equal(element, member) for element in inner)
    return False


_ORDERED = ("N", "S", "B")


def _constant(node: Any, scope: Scope, operator: str, kinds: tuple[str, ...], label: str) -> None:
    """A ``:value`` operand of a type ``operator`` cannot take is the request's error (DynamoDB:
    a ValidationException), while an item attribute of that type only fails the condition."""
    if isinstance(node, ValueRef):
        kind = next(iter(scope.value(node)))
        if kind not in kinds:
            raise ValidationError(
                f"Invalid {label}: Incorrect operand type for operator or function; operator or function: {operator}, operand type: {kind}"
            )


def _check_between_bounds(node: Between, scope: Scope, label: str) -> None:
    if not (isinstance(node.low, ValueRef) and isinstance(node.high, ValueRef)):
        return  # bounds read from the item only make the condition false
    low, high = scope.value(node.low), scope.value(node.high)
    if next(iter(low)) != next(iter(high)):
        raise ValidationError(
            f"Invalid {label}: The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {low}, upper bound operand: AttributeValue: {high}"
        )
    order = compare_values(low, high)
    if order is not None and order > 0:
        raise ValidationError(
            f"Invalid {label}: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {low}, upper bound operand: AttributeValue: {high}"
        )


def condition_holds(
    node: Any, item: Item, scope: Scope, label: str = "ConditionExpression"
) -> bool:
    """Whether the condition tree ``node`` holds for ``item`` (an empty dict: no item)."""
    if isinstance(node, And):
        return condition_holds(node.left, item, scope, label) and condition_holds(
            node.right, item, scope, label
        )
    if isinstance(node, Or):
        return condition_holds(node.left, item, scope, label) or condition_holds(
            node.right, item, scope, label
        )
    if isinstance(node, Not):
        return not condition_holds(node.operand, item, scope, label)
    if isinstance(node, Compare):
        if node.op not in ("=", "<>"):
            for side in (node.left, node.right):
                _constant(side, scope, node.op, _ORDERED, label)
        return _compare(
            node.op, _operand(node.left, item, scope), _operand(node.right, item, scope)
        )
    if isinstance(node, Between):
        subject = _operand(node.subject, item, scope)
        for side in (node.subject, node.low, node.high):
            _constant(side, scope, "BETWEEN", _ORDERED, label)
        _check_between_bounds(node, scope, label)
        low, high = _operand(node.low, item, scope), _operand(node.high, item, scope)
        return _compare(">=", subject, low) and _compare("<=", subject, high)
    if isinstance(node, In):
        subject = _operand(node.subject, item, scope)
        return any(_compare("=", subject, _operand(o, item, scope)) for o in node.options)
    assert isinstance(node, Call)
    name, args = node.name, node.args
    if name == "attribute_exists":
        return _operand(args[0], item, scope) is not None
    if name == "attribute_not_exists":
        return _operand(args[0], item, scope) is None
    if name == "attribute_type":
        wanted = _operand(args[1], item, scope)
        if wanted is None or "S" not in wanted or wanted["S"] not in TYPES:
            raise ValidationError(
                f"Invalid {label}: Invalid attribute type name found; type: {wanted}, valid types: {{B,NULL,SS,BOOL,L,BS,N,NS,S,M}}"
            )
        value = _operand(args[0], item, scope)
        return value is not None and wanted["S"] in value
    if name == "begins_with":
        for arg in args:
            _constant(arg, scope, "begins_with", ("S", "B"), label)
        return _begins_with(_operand(args[0], item, scope), _operand(args[1], item, scope))
    return _contains(_operand(args[0], item, scope), _operand(args[1], item, scope))


# --- updates ---------------------------------------------------------------------------

_MISSING_OPERAND = "The provided expression refers to an attribute that does not exist in the item"
_WRONG_TYPE = "An operand in the update expression has an incorrect data type"
_INVALID_PATH = "The document path provided in the update expression is invalid for update"
_REMOVED = {"__removed__": True}


def _show(parts: Parts) -> str:
    return "[" + ", ".join(f"[{p}]" if isinstance(p, int) else p for p in parts) + "]"


def check_overlaps(paths: Sequence[Parts], label: str) -> None:
    """ValidationException unless the paths are independent. Two paths may neither overlap (one a prefix of the other) nor conflict (one indexes
    a list where the other names a map member), as DynamoDB says before touching the item."""
    for i, one in enumerate(paths):
        for two in paths[i + 1 :]:
            shorter = min(len(one), len(two))
            same = next((n for n in range(shorter) if one[n] != two[n]), shorter)
            if same == shorter:
                problem = "overlap"
            elif same > 0 and isinstance(one[same], int) != isinstance(two[same], int):
                problem = "conflict"
            else:
                continue
            raise ValidationError(
                f"Invalid {label}: Two document paths {problem} with each other; must remove or rewrite one of these paths; path one: {_show(one)}, path two: {_show(two)}"
            )


def _update_value(node: Any, item: Item, scope: Scope) -> Value:
    if isinstance(node, Sum):
        left, right = _update_value(node.left, item, scope), _update_value(node.right, item, scope)
        if "N" not in left or "N" not in right:
            raise ValidationError(
                f"Invalid UpdateExpression: Incorrect operand type for operator or function; operator: {'ADD' if node.op == '+' else 'SUBTRACT'}, operand type: {next(iter(left if 'N' not in left else right))}"
            )
        return {"N": _arithmetic(left["N"], right["N"], node.op)}
    if isinstance(node, Call):
        if node.name == "if_not_exists":
            current = resolve_path(item, scope.path(node.args[0]))
            return current if current is not None else _update_value(node.args[1], item, scope)
        first, second = (_update_value(a, item, scope) for a in node.args)
        if "L" not in first or "L" not in second:
            raise ValidationError(
                f"Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: list_append, operand type: {next(iter(first if 'L' not in first else second))}"
            )
        return {"L": first["L"] + second["L"]}
    value = _operand(node, item, scope)
    if value is None:
        raise ValidationError(_MISSING_OPERAND)
    return value


def _arithmetic(left: str, right: str, op: str) -> str:
    try:
        a, b = Decimal(left), Decimal(right)
        result = NUMBER_CONTEXT.add(a, b) if op == "+" else NUMBER_CONTEXT.subtract(a, b)
    except DecimalException:
        raise ValidationError(
            "Number overflow. Attempting to store a number with magnitude larger than supported range"
        ) from None
    return format_number(parse_number(format_number(result)))


def _container(item: Item, parts: Parts) -> tuple[Any, str | int] | None:
    """The dict or list holding the last part of ``parts``, and that part (None: no parent)."""
    holder: Any = item
    for part in parts[:-1]:
        if isinstance(part, int):
            if not isinstance(holder, list) or part >= len(holder):
                return None
            holder = holder[part]
        else:
            if not isinstance(holder, dict) or part not in holder:
                return None
            holder = holder[part]
        if "M" in holder:
            holder = holder["M"]
        elif "L" in holder:
            holder = holder["L"]
        else:
            return None
    last = parts[-1]
    if isinstance(last, int) != isinstance(holder, list):
        return None
    return holder, last


def _assign(item: Item, parts: Parts, value: Value) -> None:
    found = _container(item, parts)
    if found is None:
        raise ValidationError(_INVALID_PATH)
    holder, last = found
    if isinstance(holder, list):
        assert isinstance(last, int)
        if last < len(holder):
            holder[last] = value
        else:
            holder.append(value)
    else:
        holder[last] = value


def _mark_removed(item: Item, parts: Parts) -> None:
    found = _container(item, parts)
    if found is None:
        raise ValidationError(_INVALID_PATH)
    holder, last = found
    if isinstance(holder, list):
        assert isinstance(last, int)
        if last < len(holder):
            holder[last] = _REMOVED
    else:
        holder.pop(last, None)


def _compact(value: Any) -> None:
    if isinstance(value, dict):
        for inner in value.values():
            if isinstance(inner, dict | list):
                _compact(inner)
    elif isinstance(value, list):
        value[:] = [v for v in value if v is not _REMOVED]
        for inner in value:
            _compact(inner)


_LEGACY_MISMATCH = (
    "One or more parameter values were invalid: Type mismatch for attribute to update"
)


def _add(current: Value | None, operand: Value, legacy: bool = False) -> Value:
    kind = next(iter(operand))
    wrong_type = _LEGACY_MISMATCH if legacy else _WRONG_TYPE
    if kind == "N":
        if current is None:
            return operand
        if "N" not in current:
            raise ValidationError(wrong_type)
        return {"N": _arithmetic(current["N"], operand["N"], "+")}
    if kind in ("SS", "NS", "BS"):
        if current is None:
            return operand
        if kind not in current:
            raise ValidationError(wrong_type)
        merged = list(current[kind]) + [m for m in operand[kind] if m not in current[kind]]
        return {kind: merged}
    if kind == "L" and legacy:  # AttributeUpdates ADD appends to a list (DynamoDB does)
        if current is None:
            return operand
        if "L" not in current:
            raise ValidationError(wrong_type)
        return {"L": current["L"] + operand["L"]}
    if legacy:
        raise ValidationError(
            f"One or more parameter values were invalid: ADD action is not supported for the type {kind}"
        )
    raise ValidationError(
        f"Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: {kind}"
    )


def _delete(current: Value | None, operand: Value, legacy: bool = False) -> Value | None:
    kind = next(iter(operand))
    if kind not in ("SS", "NS", "BS"):
        if legacy:
            raise ValidationError(
                f"One or more parameter values were invalid: DELETE action with value is not supported for the type {kind}"
            )
        raise ValidationError(
            f"Invalid UpdateExpression: Incorrect operand type for operator or function; operator: DELETE, operand type: {kind}"
        )
    if current is None:
        return None
    if kind not in current:
        raise ValidationError(_LEGACY_MISMATCH if legacy else _WRONG_TYPE)
    left = [m for m in current[kind] if m not in operand[kind]]
    return {kind: left} if left else None


def _list_index_last(assignment: tuple[Parts, Value]) -> int:
    """Sort key: SETs of list elements in element order (appends past the end land so)."""
    last = assignment[0][-1]
    return last if isinstance(last, int) else -1


def check_update_paths(update: Update, scope: Scope, key_names: Sequence[str]) -> list[Parts]:
    """The update's resolved paths; ValidationException if one is a key or two overlap."""
    paths = [scope.path(p) for p in update.paths()]
    for parts in paths:
        if parts[0] in key_names:
            raise ValidationError(
                f"One or more parameter values were invalid: Cannot update attribute {parts[0]}. This attribute is part of the key"
            )
    check_overlaps(paths, "UpdateExpression")
    return paths


def apply_update(
    update: Update, item: Item, scope: Scope, key_names: Sequence[str]
) -> tuple[Item, list[Parts]]:
    """The item after ``update`` (``item`` is not changed) and the resolved paths it wrote."""
    paths = check_update_paths(update, scope, key_names)
    new = copy.deepcopy(item)
    assignments = [(scope.path(p), _update_value(v, item, scope)) for p, v in update.sets]
    # Paths never overlap, so only the order of appends to one list matters: DynamoDB adds
    # several elements set past a list's end "sorted in order by element number".
    for parts, value in sorted(assignments, key=_list_index_last):
        _assign(new, parts, value)
    for path in update.removes:
        _mark_removed(new, scope.path(path))
    for path, ref in update.adds:
        parts = scope.path(path)
        _assign(new, parts, _add(resolve_path(item, parts), scope.value(ref), update.legacy))
    for path, ref in update.deletes:
        parts = scope.path(path)
        left = _delete(resolve_path(item, parts), scope.value(ref), update.legacy)
        if left is None:
            _mark_removed(new, parts)
        else:
            _assign(new, parts, left)
    _compact(new)
    return new, paths


# --- projections -----------------------------------------------------------------------


def project(item: Item, paths: Sequence[Parts], label: str = "ProjectionExpression") -> Item:
    """The parts of ``item`` named by ``paths`` (list elements keep their order, compacted)."""
    check_overlaps(paths, label)
    selection: dict[Any, Any] = {}
    for parts in paths:
        node = selection
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = True
    out: Item = {}
    for name, wanted in selection.items():
        if name in item:
            picked = _pick(item[name], wanted)
            if picked is not None:
                out[name] = picked
    return out


def _pick(value: Value, wanted: Any) -> Value | None:
    if wanted is True:
        return value
    if "M" in value:
        inner = value["M"]
        picked = {
            k: p
            for k, w in wanted.items()
            if isinstance(k, str) and k in inner and (p := _pick(inner[k], w)) is not None
        }
        return {"M": picked} if picked else None
    if "L" in value:
        inner = value["L"]
        indexes = sorted(k for k in wanted if isinstance(k, int) and k < len(inner))
        picked_list = [p for i in indexes if (p := _pick(inner[i], wanted[i])) is not None]
        return {"L": picked_list} if picked_list else None
    return None
