"""Text functions of Salesforce's formula reference, each as its help page describes it
(`help.salesforce.com`, articles `platform.customize_functions_<name>.htm`)."""
from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING, Final
from urllib.parse import quote

from flowengine.formula.builders import NUM, TEXT, Function, check_arg, custom, simple
from flowengine.formula.nodes import Expr, Fault, quoted
from flowengine.formula.operators import whole
from flowengine.types import MAX_TEXT, text_of

if TYPE_CHECKING:
    from flowengine.formula.parser import Parser


def limited(text: str, fname: str) -> str:
    if len(text) > MAX_TEXT:
        raise Fault(f"{fname} would build text longer than {MAX_TEXT:,} characters")
    return text


def _mid(text: str, start: Decimal, count: Decimal) -> str:
    first, length = whole(start), whole(count)
    if first < 1:
        raise Fault(f"MID start position must be 1 or more, got {text_of(start)}")
    if length < 0:
        raise Fault(f"MID length must be 0 or more, got {text_of(count)}")
    return text[first - 1:first - 1 + length]


def _substitute(text: str, old: str, new: str) -> str:
    if not old:
        return text
    if len(new) > len(old) and len(text) + text.count(old) * (len(new) - len(old)) > MAX_TEXT:
        raise Fault(f"SUBSTITUTE would build text longer than {MAX_TEXT:,} characters")
    return text.replace(old, new)


def _find(search: str, text: str, start: Decimal = Decimal(1)) -> Decimal:
    """FIND: the 1-based position of `search` in `text` from `start`, 0 when not found (also
    for an empty `search` or a start outside the text: ours, the page does not say)."""
    first = whole(start)
    if not search or first < 1 or first > len(text):
        return Decimal(0)
    return Decimal(text.find(search, first - 1) + 1)


def _pad(left: bool) -> Function:
    """LPAD / RPAD: pad to `length` with `pad` (default a space), or cut `text` to `length`."""
    fname = "LPAD" if left else "RPAD"

    def pad(text: str, length: Decimal, filler: str = " ") -> str:
        size = max(whole(length), 0)
        if size > MAX_TEXT:
            raise Fault(f"{fname} would build text longer than {MAX_TEXT:,} characters")
        if len(text) >= size or not filler:
            return text[:size]
        needed = size - len(text)
        fill = (filler * (needed // len(filler) + 1))[:needed]
        return fill + text if left else text + fill
    return simple((TEXT, NUM, TEXT), "Text", pad, optional=1)


_WORD_START = re.compile(r"(^|\s)(\S)")


def _initcap(text: str) -> str:
    """INITCAP: lowercase, with the first character of each word in uppercase; a word starts
    after whitespace (ours: the page shows no word with an apostrophe or hyphen)."""
    return _WORD_START.sub(lambda m: m.group(1) + m.group(2).upper(), text.lower())


def _ascii(text: str) -> Decimal | None:
    return Decimal(ord(text[0])) if text else None


def _chr(code: Decimal) -> str:
    number = whole(code, 0x110000)
    if code != code.to_integral_value() or not 0 < number < 0x110000 or 0xD800 <= number < 0xE000:
        raise Fault(f"CHR needs the code of a character (a whole number from 1 to 1114111), "
                    f"got {text_of(code)}")
    return chr(number)


_ID_CHARS: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID15 = re.compile(r"[A-Za-z0-9]{15}")


def _case_safe_id(text: str) -> str:
    """CASESAFEID: the 18-character form of a 15-character Id (an 18-character Id is given
    its checksum anew); other text is returned unchanged (ours)."""
    if len(text) not in (15, 18) or not _ID15.fullmatch(text[:15]):
        return text
    base = text[:15]
    suffix = ""
    for chunk in (base[0:5], base[5:10], base[10:15]):
        bits = sum(1 << i for i, ch in enumerate(chunk) if "A" <= ch <= "Z")
        suffix += _ID_CHARS[bits]
    return base + suffix


def _html_encode(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") \
        .replace('"', "&quot;").replace("'", "&#39;")


_JS_ESCAPES: Final = {"\\": "\\\\", "'": "\\'", '"': '\\"', "\n": "\\n", "\r": "\\r",
                      "\t": "\\t", "<": "\\u003C", ">": "\\u003E"}
_JS_UNSAFE = re.compile(r"[\\'\"\n\r\t<>]")


def _js_encode(text: str) -> str:
    return _JS_UNSAFE.sub(lambda m: _JS_ESCAPES[m.group()], text)


def _url_encode(text: str) -> str:
    """URLENCODE: RFC 3986 percent-encoding of UTF-8 (a space is %20, "!" is %21)."""
    return quote(text, safe="-_.~")


@custom(2, 3)
def _hyperlink(p: Parser, fname: str, args: list[Expr], offset: int) -> Expr:
    """HYPERLINK(url, friendly_name [, target]) as the HTML link it stands for (ours: the page
    describes what a user sees, not the text a flow formula holds)."""
    for index, arg in enumerate(args, 1):
        check_arg(p, arg, TEXT, fname, index)
    from html import escape  # here: the formula package's import stays light for every check

    url_f, name_f = args[0].fn, args[1].fn
    target_f = args[2].fn if len(args) > 2 else (lambda s: "_blank")

    def link(s: object) -> str:
        target = target_f(s) or "_blank"
        return (f'<a href="{escape(url_f(s) or "")}" target="{escape(target)}">'
                f"{escape(name_f(s) or '')}</a>")
    return p.node("Text", link, offset, args)


def _regex(text: str, pattern: str) -> bool:
    """REGEX: true when the whole of `text` matches `pattern` (Java syntax, which Python's `re`
    reads for the common constructs); see `flowengine.formula.regex` for the time limit."""
    from flowengine.formula.regex import full_match

    return full_match(text, pattern)


def _case_function(convert: str) -> Function:
    """UPPER / LOWER (text [, locale]): the locale is accepted and not used (ours)."""
    impl = str.upper if convert == "upper" else str.lower
    return simple((TEXT, TEXT), "Text", lambda text, locale="": impl(text), optional=1)


TEXT_FUNCTIONS: Final[dict[str, Function]] = {
    "LEN": simple((TEXT,), "Number", lambda t: Decimal(len(t))),
    "LEFT": simple((TEXT, NUM), "Text", lambda t, n: t[:max(whole(n), 0)]),
    "RIGHT": simple((TEXT, NUM), "Text", lambda t, n: t[max(len(t) - max(whole(n), 0), 0):]),
    "MID": simple((TEXT, NUM, NUM), "Text", _mid),
    "UPPER": _case_function("upper"),
    "LOWER": _case_function("lower"),
    "TRIM": simple((TEXT,), "Text", str.strip),
    "CONTAINS": simple((TEXT, TEXT), "Boolean", lambda t, part: part in t),
    "BEGINS": simple((TEXT, TEXT), "Boolean", str.startswith),
    "SUBSTITUTE": simple((TEXT, TEXT, TEXT), "Text", _substitute),
    "FIND": simple((TEXT, TEXT, NUM), "Number", _find, optional=1),
    "LPAD": _pad(left=True),
    "RPAD": _pad(left=False),
    "INITCAP": simple((TEXT,), "Text", _initcap),
    "REVERSE": simple((TEXT,), "Text", lambda t: t[::-1]),
    "ASCII": simple((TEXT,), "Number", _ascii),
    "CHR": simple((NUM,), "Text", _chr),
    "BR": Function(0, 0, lambda p, fname, args, offset: p.node(
        "Text", lambda s: "<br>", offset, args)),
    "CASESAFEID": simple((TEXT,), "Text", _case_safe_id),
    "HYPERLINK": _hyperlink,
    "HTMLENCODE": simple((TEXT,), "Text", lambda t: limited(_html_encode(t), "HTMLENCODE")),
    "JSENCODE": simple((TEXT,), "Text", lambda t: limited(_js_encode(t), "JSENCODE")),
    "JSINHTMLENCODE": simple((TEXT,), "Text",
                             lambda t: limited(_js_encode(_html_encode(t)), "JSINHTMLENCODE")),
    "URLENCODE": simple((TEXT,), "Text", lambda t: limited(_url_encode(t), "URLENCODE")),
    "ISPICKVAL": simple((TEXT, TEXT), "Boolean", lambda value, literal: value == literal),
    "REGEX": simple((TEXT, TEXT), "Boolean", _regex),
}

__all__ = ["TEXT_FUNCTIONS", "limited", "quoted"]
