"""A table's key schema and description: which attributes make the key, and checking keys.

Rules: a table has a HASH key and an optional RANGE key, each of type S, N or B, and its
AttributeDefinitions define exactly those (DynamoDB's rule without indexes). ``key_of``
checks a Key (exactly the key attributes) or an Item (at least them) and returns the
sortable bytes the store keys rows by. Messages are DynamoDB's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from kv.errors import ValidationError
from kv.values import KEY_TYPES, key_bytes, normalize_value

__all__ = ["MAX_ITEM_SIZE", "IndexSchema", "TableSchema", "check_table_name", "definition_types"]

MAX_ITEM_SIZE = 400 * 1024
MAX_HASH_KEY_BYTES = 2048
MAX_RANGE_KEY_BYTES = 1024
_TABLE_NAME = re.compile(r"[a-zA-Z0-9_.-]{3,255}")


def check_table_name(name: Any, member: str = "tableName") -> str:
    """``name`` when it is a valid table name (3-255 of a-z A-Z 0-9 _ . -)."""
    if not isinstance(name, str) or not _TABLE_NAME.fullmatch(name):
        raise ValidationError(
            f"1 validation error detected: Value '{name}' at '{member}' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and have length between 3 and 255"
        )
    return name


def definition_types(definitions: Any) -> dict[str, str]:
    """AttributeDefinitions as a name -> type map (S, N or B)."""
    if not isinstance(definitions, list):
        raise ValidationError("AttributeDefinitions must be a list")
    types = {}
    for definition in definitions:
        if not isinstance(definition, dict):
            raise ValidationError("AttributeDefinitions members must be objects")
        name, kind = definition.get("AttributeName"), definition.get("AttributeType")
        if kind not in KEY_TYPES:
            raise ValidationError(
                f"1 validation error detected: Value '{kind}' at 'attributeDefinitions.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]"
            )
        types[name] = kind
    return types


@dataclass(frozen=True, slots=True)
class TableSchema:
    """The key attributes of a table (names and types)."""

    hash_key: str
    hash_type: str
    range_key: str | None = None
    range_type: str | None = None

    @property
    def key_names(self) -> tuple[str, ...]:
        """The HASH key name, then the RANGE key name if any."""
        return (self.hash_key,) if self.range_key is None else (self.hash_key, self.range_key)

    @classmethod
    def from_request(cls, key_schema: Any, definitions: Any) -> TableSchema:
        """The schema of a CreateTable request (ValidationException when inconsistent)."""
        if not isinstance(key_schema, list) or not 1 <= len(key_schema) <= 2:
            raise ValidationError(
                "1 validation error detected: Value at 'keySchema' failed to satisfy constraint: Member must have length between 1 and 2"
            )
        if not isinstance(definitions, list):
            raise ValidationError("AttributeDefinitions must be a list")
        types = definition_types(definitions)
        if not all(isinstance(k, dict) for k in key_schema):
            raise ValidationError("KeySchema members must be objects")
        roles = [(k.get("AttributeName"), k.get("KeyType")) for k in key_schema]
        if roles[0][1] != "HASH" or (len(roles) == 2 and roles[1][1] != "RANGE"):
            raise ValidationError(
                "Invalid KeySchema: The first KeySchemaElement is not a HASH key type"
                if roles[0][1] != "HASH"
                else "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type"
            )
        if len(roles) == 2 and roles[0][0] == roles[1][0]:
            raise ValidationError(
                "Both the Hash Key and the Range Key element in the KeySchema have the same name"
            )
        for name, _ in roles:
            if name not in types:
                raise ValidationError(
                    "One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. "
                    f"Keys: [{', '.join(str(n) for n, _ in roles)}], AttributeDefinitions: [{', '.join(map(str, types))}]"
                )
        hash_key = roles[0][0]
        range_key = roles[1][0] if len(roles) == 2 else None
        return cls(
            hash_key=hash_key,
            hash_type=types[hash_key],
            range_key=range_key,
            range_type=types[range_key] if range_key is not None else None,
        )

    def _part(self, name: str, kind: str, value: Any, limit: int, where: str) -> tuple[Any, bytes]:
        value = normalize_value(value, f"{where}.{name}")
        actual = next(iter(value))
        if actual != kind:
            raise ValidationError(
                f"One or more parameter values were invalid: Type mismatch for key {name} expected: {kind} actual: {actual}"
            )
        encoded = key_bytes(value)
        if kind in ("S", "B") and not encoded:
            raise ValidationError(
                "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty "
                f"{'string' if kind == 'S' else 'binary'} value. Key: {name}"
            )
        if kind != "N" and len(encoded) > limit:
            raise ValidationError(
                f"One or more parameter values were invalid: Size of {'hashkey' if limit == MAX_HASH_KEY_BYTES else 'rangekey'} has exceeded the maximum size limit of {limit} bytes"
            )
        return value, encoded

    def key_of(self, attributes: Any, *, is_item: bool = False) -> tuple[bytes, bytes]:
        """(hash bytes, range bytes or b"") of a Key (exactly the key attributes) or an Item."""
        where = "Item" if is_item else "Key"
        if not isinstance(attributes, dict):
            raise ValidationError("The provided key element does not match the schema")
        if is_item:
            for name in self.key_names:
                if name not in attributes:
                    raise ValidationError(
                        f"One or more parameter values were invalid: Missing the key {name} in the item"
                    )
        elif set(attributes) != set(self.key_names):
            raise ValidationError("The provided key element does not match the schema")
        _, pk = self._part(
            self.hash_key, self.hash_type, attributes[self.hash_key], MAX_HASH_KEY_BYTES, where
        )
        sk = b""
        if self.range_key is not None:
            assert self.range_type is not None
            _, sk = self._part(
                self.range_key,
                self.range_type,
                attributes[self.range_key],
                MAX_RANGE_KEY_BYTES,
                where,
            )
        return pk, sk

    def key_attributes(self, item: dict[str, Any]) -> dict[str, Any]:
        """The key attributes of a stored item (its primary key as a Key map)."""
        return {name: item[name] for name in self.key_names}


PROJECTION_TYPES = ("ALL", "KEYS_ONLY", "INCLUDE")


@dataclass(frozen=True, slots=True)
class IndexSchema:
    """A secondary index: its name, key schema, projection and whether it is global."""

    name: str
    keys: TableSchema
    projection: str = "ALL"
    non_key_attributes: tuple[str, ...] = ()
    is_global: bool = True

    @classmethod
    def from_request(
        cls, spec: Any, definitions: Any, table: TableSchema, is_global: bool
    ) -> IndexSchema:
        """An index of a CreateTable request (ValidationException when malformed)."""
        kind = "GlobalSecondaryIndexes" if is_global else "LocalSecondaryIndexes"
        if not isinstance(spec, dict) or not isinstance(spec.get("IndexName"), str):
            raise ValidationError(f"{kind} members need an IndexName")
        name = spec["IndexName"]
        check_table_name(name, "indexName")
        keys = TableSchema.from_request(spec.get("KeySchema"), definitions)
        if not is_global and (keys.hash_key != table.hash_key or keys.range_key is None):
            raise ValidationError(
                f"One or more parameter values were invalid: Index KeySchema does not have a range key for index: {name}"
                if keys.range_key is None
                else f"One or more parameter values were invalid: Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex ({name})"
            )
        projection = spec.get("Projection") or {}
        ptype = projection.get("ProjectionType")
        if ptype is None:  # DynamoDB wants it, though its documentation calls it optional
            raise ValidationError(
                f"One or more parameter values were invalid: Unknown ProjectionType: null (index {name})"
            )
        if ptype not in PROJECTION_TYPES:
            raise ValidationError(
                f"1 validation error detected: Value '{ptype}' at 'projection.projectionType' failed to satisfy constraint: Member must satisfy enum value set: [ALL, INCLUDE, KEYS_ONLY]"
            )
        non_key = tuple(projection.get("NonKeyAttributes") or ())
        if non_key and ptype != "INCLUDE":
            raise ValidationError(
                "One or more parameter values were invalid: ProjectionType is "
                f"{ptype}, but NonKeyAttributes is specified"
            )
        return cls(name, keys, ptype, non_key, is_global)

    def entry(self, item: dict[str, Any]) -> tuple[bytes, bytes] | None:
        """(index hash bytes, index range bytes) of an item; None when it is not in the index."""
        keys = self.keys
        if keys.hash_key not in item or (keys.range_key is not None and keys.range_key not in item):
            return None
        parts = []
        for name, kind in ((keys.hash_key, keys.hash_type), (keys.range_key, keys.range_type)):
            if name is None:
                parts.append(b"")
                continue
            value = item[name]
            actual = next(iter(value))
            if actual != kind:
                raise ValidationError(
                    f"One or more parameter values were invalid: Type mismatch for Index Key {name} Expected: {kind} Actual: {actual} IndexName: {self.name}"
                )
            encoded = key_bytes(value)
            if kind != "N" and not encoded:
                raise ValidationError(
                    "One or more parameter values are not valid. A value specified for a secondary index key is not supported. "
                    f"The AttributeValue for a key attribute cannot contain an empty string value. IndexName: {self.name}, IndexKey: {name}"
                )
            parts.append(encoded)
        return parts[0], parts[1]

    def projected(self, item: dict[str, Any], table: TableSchema) -> dict[str, Any]:
        """The attributes of ``item`` the index holds."""
        if self.projection == "ALL":
            return item
        wanted = {*table.key_names, *self.keys.key_names, *self.non_key_attributes}
        return {name: value for name, value in item.items() if name in wanted}
