"""Salesforce formula subset (spec 3.5): parse, type-check and compile to closures; then evaluate.

One pass does it all: the tokenizer turns the text into tokens, and the parser checks the types of
each node as it builds it and compiles it at once into a closure ``fn(state) -> value``. Evaluating
only calls closures: no tree walking, no ``eval``/``exec``. Anything outside the grammar is a
`FormulaError` carrying the 0-based offset of the offending character.

Modules: `parser` (tokens, grammar, nesting limits), `operators` and `functions` (type rules and
closures of each operator and each function), `nodes` (what they share: errors, limits, the
compiled node) and `compiler` (`compile_formula`, `CompiledFormula`).

Behaviour (where Salesforce is silent, the choice made here):

* Precedence, highest first: ``^`` (right-associative), unary ``-``/``+``, ``* /``, ``+ - &``,
  ``= == != <> < <= > >=``, ``&&``, ``||``; the others are left-associative. So ``-2^2`` is -4 and
  ``2^3^2`` is 512; ``1 < 2 < 3`` is a type error.
* ``&`` joins Text only (convert with TEXT()); ``+`` of two Texts also joins, as in Salesforce.
* Null ("treat blank fields as blanks"): arithmetic and number/date functions with a null operand
  give null; ``&`` and text functions read null as ""; IF, AND, OR, NOT, ``&&``, ``||`` read null as
  false; ``=``/``<>`` read null text as "" and otherwise null equals only null; ``< <= > >=``
  with a null operand are false.
* Text comparisons (``=``, ``<``, CASE, CONTAINS, BEGINS) are case-sensitive.
* Numbers are exact decimals, computed with 28 significant digits. ROUND is half-up (away from
  zero; negative digits round left of the point); FLOOR/CEILING give whole numbers; MOD's result
  has the sign of the dividend (``MOD(-7, 3)`` is -1).
* Date +/- Number adds whole days (a fraction is dropped); DateTime +/- Number adds fractional days;
  Date - Date and DateTime - DateTime give a Number of days.
* TEXT: numbers as plain decimal text, Date as 2024-01-31, DateTime as 2024-01-31T09:30:00Z,
  Boolean as true/false, null as "".
* Limits: 65,536 characters; 200 levels of nesting (parentheses, calls, or operations inside one
  another, so a chain of 200 non-constant ``+`` is too deep); text built by ``&`` or SUBSTITUTE
  up to 1,000,000 characters.
"""
from __future__ import annotations

from flowengine.formula.compiler import CompiledFormula, compile_formula
from flowengine.formula.nodes import MAX_DEPTH, MAX_LENGTH, FormulaError

__all__ = ["CompiledFormula", "FormulaError", "compile_formula", "MAX_LENGTH", "MAX_DEPTH"]
