"""Which characters a client's text may hold: the one rule, checked where each text enters the
ledger, before any database call.

PostgreSQL cannot store a NUL in text, and asyncpg cannot encode a lone UTF-16 surrogate (which
a JSON "\\ud800" escape produces): either failed deep inside a query, and the client saw
INTERNAL_SERVER_ERROR. So:

- TEXT, every string a client sends (names, labels, descriptions, emails, phones, URLs,
  passwords, payment tokens, currency and operation codes): no control character (Unicode
  category Cc: NUL, tab, newline, DEL, the C1 controls) and no surrogate (Cs).
- IDENTIFIER, idempotency keys, which must be told apart by looking at them: printable
  characters only, so also no format character (Cf: zero-width space and joiners, U+FEFF,
  bidirectional controls), line or paragraph separator (Zl, Zp), private-use (Co) or unassigned
  (Cn) code point.
"""

from __future__ import annotations

import unicodedata

from walletql.ledger.errors import ValidationError

TEXT = frozenset({"Cc", "Cs"})
IDENTIFIER = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp", "Co", "Cn"})
SURROGATE = frozenset({"Cs"})  # what cannot even be encoded (UTF-8, and so PostgreSQL)


def refused(value: str, categories: frozenset[str] = TEXT) -> str | None:
    """The first character of `value` whose Unicode category is in `categories`, or None."""
    # str.isprintable() is False exactly for the categories C* and Z* other than the ASCII
    # space: a printable string holds none of either rule's characters (the common case, and
    # a single pass in C).
    if value.isprintable():
        return None
    for character in value:
        if unicodedata.category(character) in categories:
            return character
    return None


def describe(character: str) -> str:
    """A refused character as a message shows it: U+0000, U+D800..."""
    return f"U+{ord(character):04X}"


def check(value: str, field: str, categories: frozenset[str] = TEXT) -> str:
    """`value`, or ValidationError BAD_INPUT naming `field` and the first refused character."""
    character = refused(value, categories)
    if character is not None:
        kind = "control character or surrogate" if categories is TEXT else "invisible character"
        raise ValidationError(
            "BAD_INPUT", f"{field} must not contain {describe(character)} (a {kind})", field
        )
    return value
