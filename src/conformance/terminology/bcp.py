"""Basic syntax of mime types (urn:ietf:bcp:13) and language tags (urn:ietf:bcp:47).

Syntax only: a well-formed tag whose subtags are not registered with IANA
(for example `xx-QQ`) passes, because the registries are not shipped here.
"""

from __future__ import annotations

import re

# RFC 6838 section 4.2 (restricted-name), RFC 7231 section 3.1.1.1 (parameters).
_NAME = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_QUOTED = r'"(?:[^"\\\r\n]|\\.)*"'
_MIME = re.compile(rf"{_NAME}/{_NAME}(?:[ \t]*;[ \t]*{_TOKEN}=(?:{_TOKEN}|{_QUOTED}))*")

# RFC 5646 section 2.1 (langtag, privateuse) and 2.2.8 (irregular grandfathered tags). The 4- to
# 8-letter primary language subtags the syntax reserves have never been registered, so they are
# refused: "english" is a mistake, not a tag.
_ALNUM = "[a-z0-9]"
_LANGUAGE = r"(?:[a-z]{2,3}(?:-[a-z]{3}){0,3})"
_SCRIPT = r"(?:-[a-z]{4})?"
_REGION = r"(?:-(?:[a-z]{2}|[0-9]{3}))?"
_VARIANTS = rf"(?:-(?:{_ALNUM}{{5,8}}|[0-9]{_ALNUM}{{3}}))*"
_EXTENSIONS = rf"(?:-[0-9a-wy-z](?:-{_ALNUM}{{2,8}})+)*"
_PRIVATE = rf"(?:-x(?:-{_ALNUM}{{1,8}})+)?"
_LANGTAG = rf"{_LANGUAGE}{_SCRIPT}{_REGION}{_VARIANTS}{_EXTENSIONS}{_PRIVATE}"
_PRIVATE_ONLY = rf"x(?:-{_ALNUM}{{1,8}})+"
_IRREGULAR = frozenset(
    {
        "en-gb-oed",
        "i-ami",
        "i-bnn",
        "i-default",
        "i-enochian",
        "i-hak",
        "i-klingon",
        "i-lux",
        "i-mingo",
        "i-navajo",
        "i-pwn",
        "i-tao",
        "i-tay",
        "i-tsu",
        "sgn-be-fr",
        "sgn-be-nl",
        "sgn-ch-de",
    }
)
_LANGUAGE_TAG = re.compile(rf"(?:{_LANGTAG}|{_PRIVATE_ONLY})", re.IGNORECASE)


# FHIR lets format codes stand for mime types (CapabilityStatement.format: "xml | json | ttl | mime type").
FHIR_FORMAT_SHORTHANDS = frozenset({"xml", "json", "ttl"})


def mime_type_problem(value: str) -> str | None:
    """None for a well-formed media type (`type/subtype` with optional `; name=value` parameters)."""
    if _MIME.fullmatch(value) or value in FHIR_FORMAT_SHORTHANDS:
        return None
    return f"'{value}' is not a well-formed mime type (type/subtype, optionally with ; parameters)"


def language_tag_problem(value: str) -> str | None:
    """None for a well-formed BCP 47 language tag."""
    if value.lower() in _IRREGULAR or _LANGUAGE_TAG.fullmatch(value):
        return None
    return f"'{value}' is not a well-formed BCP 47 language tag"


def is_valid_mime_type(value: str) -> bool:
    return mime_type_problem(value) is None


def is_valid_language_tag(value: str) -> bool:
    return language_tag_problem(value) is None
