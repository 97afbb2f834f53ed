"""S3's XML: answers (listings, multipart, copy, delete results), errors, and request bodies.

Rules: answers are in the ``http://s3.amazonaws.com/doc/2006-03-01/`` namespace, text is
escaped, times are ISO 8601 with milliseconds (``2026-01-02T03:04:05.000Z``). Request bodies
are parsed with the standard library's expat parser (no DTDs or external entities) after a
size cap, and any namespace is accepted (clients send it or not).
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from urllib.parse import quote
from xml.sax.saxutils import escape

from storage.errors import S3Error

__all__ = ["S3_NS", "element", "error_xml", "iso_time", "parse_xml", "xml_document"]

S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
MAX_XML_BYTES = 2 * 1024 * 1024


def iso_time(epoch: float) -> str:
    """``2026-01-02T03:04:05.000Z``."""
    whole = int(epoch)
    millis = int((epoch - whole) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"


def element(name: str, value: object) -> str:
    """``<name>value</name>`` with the value escaped (booleans as true/false)."""
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{name}>{escape(str(value))}</{name}>"


def xml_document(root: str, parts: Iterable[str]) -> bytes:
    """A whole answer: the declaration and ``root`` in the S3 namespace around ``parts``."""
    body = "".join(parts)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{S3_NS}">{body}</{root}>'
    ).encode()


def error_xml(error: S3Error, resource: str, request_id: str) -> bytes:
    """S3's ``<Error>`` document."""
    parts = [element("Code", error.code), element("Message", error.message)]
    parts += [element(name, value) for name, value in error.extra.items()]
    parts += [element("Resource", resource), element("RequestId", request_id)]
    document = '<?xml version="1.0" encoding="UTF-8"?>\n<Error>' + "".join(parts) + "</Error>"
    return document.encode("utf-8", "replace")  # a resource that is not UTF-8 cannot crash it


def url_encoded(text: str, encode: bool) -> str:
    """``text`` percent-encoded as S3's ``encoding-type=url`` does (unchanged when not asked)."""
    return quote(text, safe="/~-_.") if encode else text


def parse_xml(body: bytes, root: str) -> ET.Element:
    """The document in ``body`` whose root is ``root`` (any namespace); MalformedXML otherwise."""
    if len(body) > MAX_XML_BYTES:
        raise S3Error("MalformedXML", f"the XML body is over {MAX_XML_BYTES} bytes")
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise S3Error("MalformedXML", "the XML body must not declare a DTD or entities")
    try:
        document = ET.fromstring(body)
    except ET.ParseError as exc:
        raise S3Error("MalformedXML", f"the XML body is not well-formed: {exc}") from None
    if local_name(document.tag) != root:
        raise S3Error(
            "MalformedXML",
            f"the XML root is <{local_name(document.tag)}> (expected <{root}>)",
        )
    return document


def local_name(tag: str) -> str:
    """A tag without its ``{namespace}``."""
    return tag.rsplit("}", 1)[-1]


def children(parent: ET.Element, name: str) -> list[ET.Element]:
    """Direct children called ``name`` in any namespace."""
    return [child for child in parent if local_name(child.tag) == name]


def child_text(parent: ET.Element, name: str) -> str | None:
    """The text of the first child called ``name`` (None when absent)."""
    for child in children(parent, name):
        return child.text or ""
    return None
