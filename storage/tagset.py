"""Object tag sets: AWS's limits, the ``x-amz-tagging`` header, the ``<Tagging>`` XML.

Rules (as AWS documents them): an object has at most 10 tags; a key is 1 to 128 Unicode
characters, a value 0 to 256; keys are unique and must not start with ``aws:`` (reserved
for AWS's own tags); any breach is 400 InvalidTag. A tag set body that is not
``<Tagging><TagSet><Tag><Key/><Value/></Tag>...</TagSet></Tagging>`` is MalformedXML.
``x-amz-tagging`` is the URL-encoded query form ``k1=v1&k2=v2``.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from storage.errors import S3Error
from storage.xmlpages import child_text, children, element, local_name, parse_xml, xml_document

__all__ = [
    "MAX_KEY_CHARS",
    "MAX_TAGS",
    "MAX_VALUE_CHARS",
    "Tags",
    "check_tags",
    "tagging_document",
    "tags_from_header",
    "tags_from_xml",
]

Tags = tuple[tuple[str, str], ...]

MAX_TAGS = 10
MAX_KEY_CHARS = 128
MAX_VALUE_CHARS = 256


def check_tags(tags: list[tuple[str, str]]) -> Tags:
    """``tags`` sorted by key (the order S3 answers them in) if they keep AWS's limits;
    InvalidTag (saying which) otherwise."""
    if len(tags) > MAX_TAGS:
        raise S3Error(
            "InvalidTag", f"Object tags cannot be greater than {MAX_TAGS} (got {len(tags)})"
        )
    seen: set[str] = set()
    for key, value in tags:
        if not 1 <= len(key) <= MAX_KEY_CHARS:
            raise S3Error(
                "InvalidTag",
                f"The TagKey you have provided is invalid: {len(key)} characters"
                f" (expected 1 to {MAX_KEY_CHARS})",
                TagKey=key[:MAX_KEY_CHARS],
            )
        if len(value) > MAX_VALUE_CHARS:
            raise S3Error(
                "InvalidTag",
                f"The TagValue you have provided is invalid: {len(value)} characters"
                f" (expected at most {MAX_VALUE_CHARS}) for the key {key!r}",
                TagKey=key,
            )
        if key.lower().startswith("aws:"):
            raise S3Error(
                "InvalidTag",
                f"System tags cannot be added/updated by requester (key {key!r}: the aws:"
                " prefix is reserved)",
                TagKey=key,
            )
        if key in seen:
            raise S3Error(
                "InvalidTag",
                f"Cannot provide multiple Tags with the same key ({key!r})",
                TagKey=key,
            )
        seen.add(key)
    return tuple(sorted(tags))


def tags_from_header(value: str | None) -> Tags:
    """The tags of an ``x-amz-tagging`` header (``k1=v1&k2=v2``, URL-encoded; none when absent)."""
    if value is None or not value.strip():
        return ()
    try:
        pairs = parse_qsl(value.strip(), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise S3Error(
            "InvalidArgument",
            "x-amz-tagging must be URL-encoded UTF-8 query parameters (k1=v1&k2=v2)",
            ArgumentName="x-amz-tagging",
        ) from None
    return check_tags(pairs)


def tags_from_xml(body: bytes) -> Tags:
    """The tag set of a PutObjectTagging body; MalformedXML or InvalidTag otherwise."""
    document = parse_xml(body, "Tagging")
    tag_sets = children(document, "TagSet")
    if len(tag_sets) != 1:
        raise S3Error(
            "MalformedXML", f"<Tagging> holds {len(tag_sets)} <TagSet> elements (expected one)"
        )
    tags: list[tuple[str, str]] = []
    for child in tag_sets[0]:
        if local_name(child.tag) != "Tag":
            raise S3Error(
                "MalformedXML", f"<TagSet> holds <{local_name(child.tag)}> (expected only <Tag>)"
            )
        key = child_text(child, "Key")
        value = child_text(child, "Value")
        if key is None or value is None:
            raise S3Error("MalformedXML", "each <Tag> needs a <Key> and a <Value>")
        tags.append((key, value))
    return check_tags(tags)


def tagging_document(tags: Tags) -> bytes:
    """GetObjectTagging's answer."""
    items = "".join(
        "<Tag>" + element("Key", key) + element("Value", value) + "</Tag>" for key, value in tags
    )
    return xml_document("Tagging", ["<TagSet>" + items + "</TagSet>"])
