"""Bucket CORS configurations: AWS's rules, the ``<CORSConfiguration>`` XML, and matching.

Rules (as AWS documents them): a configuration holds 1 to 100 ``<CORSRule>``; each has an
optional ``<ID>`` (at most 255 characters), one or more ``<AllowedOrigin>`` and
``<AllowedMethod>``, any ``<AllowedHeader>`` and ``<ExposeHeader>``, and an optional
``<MaxAgeSeconds>`` (a whole number). Methods are only GET, PUT, POST, DELETE and HEAD; an
origin or an allowed header holds at most one ``*`` wildcard; an expose header holds none.
A body of another shape is MalformedXML; a breach of a limit is InvalidRequest.

Matching (what S3 does with a request that has an ``Origin``): the first rule whose origins
match the origin (wildcards, case-sensitive), whose methods hold the method (the preflight's
``Access-Control-Request-Method``), and whose allowed headers match every requested header
(case-insensitive) answers; no rule, no CORS fields.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from storage.errors import S3Error
from storage.xmlpages import children, element, local_name, parse_xml, xml_document

__all__ = [
    "CORS_METHODS",
    "MAX_RULES",
    "CorsRule",
    "cors_document",
    "first_match",
    "rules_from_json",
    "rules_from_xml",
    "rules_to_json",
]

MAX_RULES = 100
MAX_ID_CHARS = 255
CORS_METHODS = frozenset(["GET", "PUT", "POST", "DELETE", "HEAD"])
_RULE_FIELDS = frozenset(
    ["ID", "AllowedOrigin", "AllowedMethod", "AllowedHeader", "ExposeHeader", "MaxAgeSeconds"]
)


@dataclass(frozen=True, slots=True)
class CorsRule:
    """One ``<CORSRule>``: who may call (origins), how (methods, headers), what they see."""

    allowed_origins: tuple[str, ...]
    allowed_methods: tuple[str, ...]
    allowed_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age_seconds: int | None = None
    id: str | None = None

    def allows_origin(self, origin: str) -> str | None:
        """The allowed origin pattern ``origin`` matches (None when none does)."""
        for pattern in self.allowed_origins:
            if _wildcard(pattern, False).fullmatch(origin):
                return pattern
        return None

    def allows_headers(self, requested: tuple[str, ...]) -> bool:
        """Whether every requested header matches one allowed header (case-insensitive)."""
        patterns = [_wildcard(pattern, True) for pattern in self.allowed_headers]
        return all(any(p.fullmatch(name) for p in patterns) for name in requested)


@lru_cache(maxsize=1024)
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """``pattern`` with ``*`` matching any run of characters."""
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.compile(regex, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def first_match(
    rules: tuple[CorsRule, ...], origin: str, method: str, requested: tuple[str, ...] = ()
) -> tuple[CorsRule, str] | None:
    """The first rule that allows ``origin``, ``method`` and the ``requested`` headers, with
    the origin pattern that matched; None when no rule does."""
    for rule in rules:
        if method not in rule.allowed_methods or not rule.allows_headers(requested):
            continue
        pattern = rule.allows_origin(origin)
        if pattern is not None:
            return rule, pattern
    return None


def _texts(rule: ET.Element, name: str) -> tuple[str, ...]:
    return tuple((child.text or "").strip() for child in children(rule, name))


def _one_wildcard(kind: str, values: tuple[str, ...]) -> None:
    for value in values:
        if value.count("*") > 1:
            raise S3Error(
                "InvalidRequest", f'{kind} "{value[:200]}" can not have more than one wildcard.'
            )


def rules_from_xml(body: bytes) -> tuple[CorsRule, ...]:
    """The rules of a PutBucketCors body; MalformedXML or InvalidRequest (saying why)."""
    document = parse_xml(body, "CORSConfiguration")
    rules: list[CorsRule] = []
    for child in document:
        if local_name(child.tag) != "CORSRule":
            raise S3Error(
                "MalformedXML",
                f"<CORSConfiguration> holds <{local_name(child.tag)}> (expected only <CORSRule>)",
            )
        rules.append(_rule_from_xml(child, len(rules) + 1))
    if not rules:
        raise S3Error("MalformedXML", "<CORSConfiguration> holds no <CORSRule> (expected 1 to 100)")
    if len(rules) > MAX_RULES:
        raise S3Error(
            "InvalidRequest",
            f"The CORS configuration holds {len(rules)} rules; it can have at most {MAX_RULES}.",
        )
    return tuple(rules)


def _rule_from_xml(node: ET.Element, position: int) -> CorsRule:
    where = f"<CORSRule> number {position}"
    for child in node:
        if local_name(child.tag) not in _RULE_FIELDS:
            raise S3Error(
                "MalformedXML",
                f"{where} holds <{local_name(child.tag)}> (expected {', '.join(sorted(_RULE_FIELDS))})",
            )
    origins = _texts(node, "AllowedOrigin")
    methods = _texts(node, "AllowedMethod")
    if not origins or not methods:
        raise S3Error(
            "MalformedXML", f"{where} needs at least one <AllowedOrigin> and one <AllowedMethod>"
        )
    for method in methods:
        if method not in CORS_METHODS:
            raise S3Error(
                "InvalidRequest",
                f"Found unsupported HTTP method in CORS config. Unsupported method is"
                f" {method[:40]} (expected {', '.join(sorted(CORS_METHODS))})",
            )
    allowed_headers = _texts(node, "AllowedHeader")
    expose_headers = _texts(node, "ExposeHeader")
    _one_wildcard("AllowedOrigin", origins)
    _one_wildcard("AllowedHeader", allowed_headers)
    for header in expose_headers:
        if "*" in header:
            raise S3Error(
                "InvalidRequest",
                f'ExposeHeader "{header[:200]}" contains wildcard. We currently do not support'
                " wildcard for ExposeHeader.",
            )
    ids = _texts(node, "ID")
    max_ages = _texts(node, "MaxAgeSeconds")
    if len(ids) > 1 or len(max_ages) > 1:
        raise S3Error("MalformedXML", f"{where} holds more than one <ID> or <MaxAgeSeconds>")
    if ids and len(ids[0]) > MAX_ID_CHARS:
        raise S3Error(
            "InvalidRequest",
            f"{where}: the ID is {len(ids[0])} characters (expected at most {MAX_ID_CHARS})",
        )
    max_age: int | None = None
    if max_ages:
        if not re.fullmatch(r"-?[0-9]{1,10}", max_ages[0]):
            raise S3Error(
                "MalformedXML",
                f"{where}: <MaxAgeSeconds> is {max_ages[0][:40]!r} (expected a whole number)",
            )
        max_age = int(max_ages[0])
    return CorsRule(
        allowed_origins=origins,
        allowed_methods=methods,
        allowed_headers=allowed_headers,
        expose_headers=expose_headers,
        max_age_seconds=max_age,
        id=ids[0] if ids else None,
    )


def cors_document(rules: tuple[CorsRule, ...]) -> bytes:
    """GetBucketCors's answer."""
    parts = []
    for rule in rules:
        fields = [element("ID", rule.id)] if rule.id is not None else []
        fields += [element("AllowedHeader", value) for value in rule.allowed_headers]
        fields += [element("AllowedMethod", value) for value in rule.allowed_methods]
        fields += [element("AllowedOrigin", value) for value in rule.allowed_origins]
        fields += [element("ExposeHeader", value) for value in rule.expose_headers]
        if rule.max_age_seconds is not None:
            fields.append(element("MaxAgeSeconds", rule.max_age_seconds))
        parts.append("<CORSRule>" + "".join(fields) + "</CORSRule>")
    return xml_document("CORSConfiguration", parts)


def rules_to_json(rules: tuple[CorsRule, ...]) -> list[dict[str, Any]]:
    """The rules as JSON-ready dictionaries (stored in the bucket's ``bucket.json``)."""
    return [
        {
            "id": rule.id,
            "allowed_origins": list(rule.allowed_origins),
            "allowed_methods": list(rule.allowed_methods),
            "allowed_headers": list(rule.allowed_headers),
            "expose_headers": list(rule.expose_headers),
            "max_age_seconds": rule.max_age_seconds,
        }
        for rule in rules
    ]


def _strings(item: dict[str, Any], name: str) -> tuple[str, ...]:
    values = item[name]
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValueError(f"{name} is {values!r} (expected a list of strings)")
    return tuple(values)


def rules_from_json(items: list[dict[str, Any]]) -> tuple[CorsRule, ...]:
    """Rules stored by ``rules_to_json``; ValueError (saying where) when they are not."""
    rules = []
    for position, item in enumerate(items, 1):
        try:
            max_age = item["max_age_seconds"]
            rule_id = item["id"]
            rules.append(
                CorsRule(
                    allowed_origins=_strings(item, "allowed_origins"),
                    allowed_methods=_strings(item, "allowed_methods"),
                    allowed_headers=_strings(item, "allowed_headers"),
                    expose_headers=_strings(item, "expose_headers"),
                    max_age_seconds=None if max_age is None else int(max_age),
                    id=None if rule_id is None else str(rule_id),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"stored CORS rule {position} is damaged: {exc!r}") from None
    return tuple(rules)
