"""Text measurement and wrapping for the canvas, without a font engine.

The canvas uses Arial-metric fonts (Arial, Liberation Sans, Helvetica all share these advance
widths), so the width of a label can be estimated from the Helvetica AFM tables below; wrapping
keeps a safety margin so a line never spills out of its box in a real browser.
"""
from __future__ import annotations

import unicodedata
from typing import Final

FONT_FAMILY: Final = "Arial, Liberation Sans, Helvetica, sans-serif"

# advance widths in 1/1000 em for ASCII 32..126 (Helvetica / Arial)
_REGULAR: Final = (
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
)
_BOLD: Final = (
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611,
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556,
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611,
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
)
SAFETY: Final = 1.06   # browsers differ a little in hinting and kerning; stay on the safe side


def _char_width(ch: str, bold: bool) -> int:
    code = ord(ch)
    if 32 <= code <= 126:
        return (_BOLD if bold else _REGULAR)[code - 32]
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 1000
    if unicodedata.combining(ch):
        return 0
    return 667 if bold else 611


def text_width(text: str, size: float, bold: bool = False) -> float:
    """Estimated width in pixels of `text` set at `size` px."""
    return sum(_char_width(ch, bold) for ch in text) * size / 1000 * SAFETY


def _split_long_word(word: str, width: float, size: float, bold: bool) -> list[str]:
    pieces: list[str] = []
    current = ""
    for ch in word:
        if current and text_width(current + ch, size, bold) > width:
            pieces.append(current)
            current = ch
        else:
            current += ch
    if current:
        pieces.append(current)
    return pieces


def wrap(text: str, width: float, size: float, bold: bool = False,
         max_lines: int | None = None) -> list[str]:
    """Break `text` into lines no wider than `width` px; words longer than a line are split.
    With `max_lines`, the last kept line ends in an ellipsis when text was cut."""
    words: list[str] = []
    for word in text.split():
        words.extend(_split_long_word(word, width, size, bold)
                     if text_width(word, size, bold) > width else [word])
    lines: list[str] = []
    for word in words:
        if lines and text_width(lines[-1] + " " + word, size, bold) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    if not lines:
        return [""]
    if max_lines is not None and len(lines) > max_lines:
        kept = lines[:max_lines]
        last = kept[-1]
        while last and text_width(last + "…", size, bold) > width:
            last = last[:-1].rstrip()
        kept[-1] = last + "…"
        return kept
    return lines


def fit(text: str, width: float, size: float, bold: bool = False) -> str:
    """`text` on one line, shortened with an ellipsis to fit `width` px."""
    return wrap(text, width, size, bold, max_lines=1)[0] if text_width(text, size, bold) > width \
        else text
