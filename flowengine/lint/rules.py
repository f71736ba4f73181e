"""The lint rules, named as Lightning Flow Scanner names them.

A rule looks at one flow that passed validation (its parsed document, model and graph) and
yields `Hit`s: what is wrong and how to fix it, and the document path whose line to report.
Rules never raise for a valid flow; severities and options come from the configuration.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, Literal

from flowengine.elements import kind_of
from flowengine.references import merge_field_roots

if TYPE_CHECKING:
    import networkx as nx

    from flowengine.check.checker import CheckedFlow
    from flowengine.source import SourceDocument

__all__ = ["RULES", "Hit", "LintContext", "Rule", "Severity", "rule_ids"]

Severity = Literal["error", "warning", "note"]
SEVERITIES: Final = ("error", "warning", "note")


@dataclass(frozen=True)
class Hit:
    """One problem a rule found: the message (what, and how to fix it) and where."""

    message: str
    path: tuple[Any, ...] = ()
    key: bool = True                  # report the line of the key (an element's name) itself
    element: str | None = None
    offset: int | None = None         # a character inside the text scalar at `path`


@dataclass
class LintContext:
    """What rules look at: the document (for lines) and the checked flow."""

    doc: SourceDocument
    checked: CheckedFlow
    known_prefixes: Mapping[str, str] = field(default_factory=dict)   # Id key prefix → object

    @property
    def model(self) -> Any:
        return self.checked.model

    @property
    def graph(self) -> nx.MultiDiGraph:
        return self.checked.graph


@dataclass(frozen=True)
class Rule:
    """A lint rule: its id (Lightning Flow Scanner's name), what it checks, and its defaults."""

    id: str
    title: str
    description: str
    severity: Severity
    check: Callable[[LintContext, Mapping[str, Any]], Iterator[Hit]]
    options: Mapping[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Rules

def missing_fault_path(ctx: LintContext, options: Mapping[str, Any]) -> Iterator[Hit]:
    for name, element in ctx.model.elements.items():
        kind = kind_of(element)
        if not kind.can_fault or any(c.kind == "fault" for c in kind.connectors(element)):
            continue
        facts = kind.facts(element)
        doing = f" {facts.doing}" if facts.doing else ""
        yield Hit(f"{kind.name} element {name}{doing} without a fault connector: if "
                  f"{facts.failing} fails, the whole interview fails and is rolled back. Add "
                  "'fault: ELEMENT' leading to elements that handle the error (they can read "
                  "{!$Flow.FaultMessage})", ("elements", name), element=name)


def loop_bodies(graph: nx.MultiDiGraph, model: Any) -> dict[str, set[str]]:
    """Loop element → the elements of its body: reached from its `each` connector without
    passing through the loop, and leading back to it."""
    import networkx as nx

    bodies: dict[str, set[str]] = {}
    for name, element in model.elements.items():
        kind = kind_of(element)
        each = next((c.target for c in kind.connectors(element) if c.kind == "each"), None)
        if not kind.facts(element).loop or each not in graph:
            continue
        without = graph.subgraph(n for n in graph.nodes if n != name)
        reached = nx.descendants(without, each) | {each}
        back = nx.ancestors(graph, name)
        bodies[name] = {n for n in reached if n in back}
    return bodies


def action_calls_in_loop(ctx: LintContext, options: Mapping[str, Any]) -> Iterator[Hit]:
    bodies = loop_bodies(ctx.graph, ctx.model)
    for name, element in ctx.model.elements.items():
        action = kind_of(element).facts(element).action
        if action is None:
            continue
        loops = [loop for loop, body in bodies.items() if name in body]
        if loops:
            yield Hit(f"Action element {name} calls {action} once per item of loop "
                      f"{loops[0]}: each call counts against the limits of the transaction. "
                      "Collect the inputs inside the loop (Assignment with Add) and call the "
                      "action once, on the loop's 'after' path", ("elements", name), element=name)


def _in_loops(ctx: LintContext) -> dict[str, str]:
    """Element → the first loop whose body it is in."""
    out: dict[str, str] = {}
    for loop, body in loop_bodies(ctx.graph, ctx.model).items():
        for name in body:
            out.setdefault(name, loop)
    return out


def soql_query_in_loop(ctx: LintContext, options: Mapping[str, Any]) -> Iterator[Hit]:
    loops = _in_loops(ctx)
    for name, element in ctx.model.elements.items():
        facts = kind_of(element).facts(element)
        if facts.query and name in loops:
            yield Hit(f"{kind_of(element).name} element {name} {facts.doing} once per item of loop "
                      f"{loops[name]}: a transaction may run 100 queries, so a loop over more "
                      "than 100 items fails (Too many SOQL queries: 101). Query once, before the "
                      "loop, with an In filter on the collected values",
                      ("elements", name), element=name)


def dml_statement_in_loop(ctx: LintContext, options: Mapping[str, Any]) -> Iterator[Hit]:
    loops = _in_loops(ctx)
    for name, element in ctx.model.elements.items():
        facts = kind_of(element).facts(element)
        if facts.dml and name in loops:
            yield Hit(f"{kind_of(element).name} element {name} {facts.doing} once per item of loop "
                      f"{loops[name]}: a transaction may run 150 DML statements, so a loop over "
                      "more than 150 items fails (Too many DML statements: 151). Collect the "
                      "records in a collection inside the loop (Assignment with Add) and write "
                      "them once, on the loop's 'after' path", ("elements", name), element=name)


def get_records_without_filter(ctx: LintContext, options: Mapping[str, Any]) -> Iterator[Hit]:
    for name, element in ctx.model.elements.items():
        if element.type == "GetRecords" and not element.filters:
            yield Hit(f"Get Records element {name} has no filter: it reads every {element.object} "
                      "record, and a transaction may retrieve 50,000 records in all. Add filters "
                      "that select the records the flow needs", ("elements", name), element=name)


def get_record_all_fields(ctx: LintContext, options: Mapping[str, Any]) -> Iterator[Hit]:
    for name, element in ctx.model.elements.items():
        if element.type == "GetRecords" and element.storeOutputAutomatically \
                and not element.fields:
            yield Hit(f"Get Records element {name} stores every field of {element.object} "
                      "automatically: name the fields the flow uses (fields: [...]) to read less",
                      ("elements", name), element=name)


def missing_null_handler(ctx: LintContext, options: Mapping[str, Any]) -> Iterator[Hit]:
    tested: set[str] = set()
    for element in ctx.model.elements.values():
        for rule in getattr(element, "rules", None) or []:
            for cond in rule.conditions:
                if cond.op in ("IsNull", "IsEmpty", "IsBlank") or \
                        cond.op in ("EqualTo", "NotEqualTo") and cond.right is None:
                    tested.add(cond.left.split(".")[0].lower())
    for name, element in ctx.model.elements.items():
        if element.type != "GetRecords" or element.fault:
            continue
        held = [name] if element.storeOutputAutomatically else \
            [element.store] if element.store else []
        if held and not any(h.split(".")[0].lower() in tested for h in held):
            yield Hit(f"Get Records element {name} may find no {element.object} record, and "
                      f"then {held[0]} is null; no Decision tests it (Is Null) before it is "
                      "used", ("elements", name), element=name)


def referenced_names(model: Any) -> set[str]:
    """Every resource name (lower case) that something in the flow reads or writes."""
    names: list[str] = []
    for var in model.variables.values():
        names += merge_field_roots(var.default)
    for formula in model.formulas.values():
        names += merge_field_roots(formula.expression)
    for template in model.templates.values():
        names += merge_field_roots(template.text)
    for element in model.elements.values():
        facts = kind_of(element).facts(element)
        names += facts.reads + facts.writes
    return {n.strip().lower() for n in names if n}


def unused_variable(ctx: LintContext, options: Mapping[str, Any]) -> Iterator[Hit]:
    used = referenced_names(ctx.model)
    for name, var in ctx.model.variables.items():
        if name.lower() in used or var.input or var.output:
            continue
        yield Hit(f"variable {name} is never used: nothing reads or writes it. Remove it, or use "
                  "it where it was meant to be used", ("variables", name))


def unconnected_element(ctx: LintContext, options: Mapping[str, Any]) -> Iterator[Hit]:
    from flowengine.graph import unreachable_elements

    for name in unreachable_elements(ctx.model):
        yield Hit(f"element {name} is not connected: no path from the start "
                  f"({ctx.model.start or 'none'}) reaches it, so it never runs. Connect it "
                  "(next, fault, a decision outcome or a loop connector) or remove it",
                  ("elements", name), element=name)


def flow_description(ctx: LintContext, options: Mapping[str, Any]) -> Iterator[Hit]:
    if not (ctx.model.description or "").strip():
        yield Hit(f"flow {ctx.model.flow} has no description: add 'description:' saying what "
                  "the flow does and who calls it, for the people who maintain it", ("flow",))


# Key prefixes of common standard objects; plug-ins' objects are added at lint time.
STANDARD_PREFIXES: Final = {
    "001": "Account", "003": "Contact", "005": "User", "006": "Opportunity", "00Q": "Lead",
    "500": "Case", "701": "Campaign", "800": "Contract", "801": "Order", "802": "OrderItem",
    "00D": "Organization", "00G": "Group", "00e": "Profile", "012": "RecordType",
    "01t": "Product2", "01s": "Pricebook2", "01u": "PricebookEntry", "015": "Document",
    "068": "ContentVersion", "069": "ContentDocument", "00T": "Task", "00U": "Event",
    "0Q0": "Quote", "02i": "Asset", "0a3": "FulfillmentOrder", "0a4": "FulfillmentOrderLineItem",
    "0ag": "OrderDeliveryGroupSummary", "10u": "OrderItemSummary", "131": "Location",
    "1Os": "OrderSummary", "300": "Flow",
}
_WORD: Final = re.compile(r"[A-Za-z0-9]+")
_NOT_SCANNED: Final = frozenset({"description", "label", "defaultLabel"})


def looks_like_record_id(token: str, prefixes: Mapping[str, str]) -> str | None:
    """The object a token looks like an Id of ("" when unknown), or None when it is no Id:
    18 characters whose case-safe checksum matches, or 15 characters with a known key prefix
    (or a custom object's `a..` prefix); either way with digits in it."""
    from flowengine.org.ids import checksum

    digits = sum(ch.isdigit() for ch in token)
    if len(token) == 18 and digits >= 3 and checksum(token[:15]) == token[15:]:
        return prefixes.get(token[:3], "")
    if len(token) == 15 and digits >= 4 and any(ch.isalpha() for ch in token):
        if token[:3] in prefixes:
            return prefixes[token[:3]]
        if token[0] == "a" and token[1].isdigit():
            return "custom object"
    return None


def _strings(data: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str]]:
    if isinstance(data, dict):
        for key, value in data.items():
            if key not in _NOT_SCANNED:
                yield from _strings(value, path + (key,))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _strings(value, path + (i,))
    elif isinstance(data, str):
        yield path, data


def hardcoded_id(ctx: LintContext, options: Mapping[str, Any]) -> Iterator[Hit]:
    prefixes = {**STANDARD_PREFIXES, **ctx.known_prefixes}
    for path, text in _strings(ctx.doc.data):
        for match in _WORD.finditer(text):
            token = match.group(0)
            obj = looks_like_record_id(token, prefixes)
            if obj is None:
                continue
            what = f"{obj} record Id" if obj else "record Id"
            element = path[1] if len(path) > 1 and path[0] == "elements" else None
            yield Hit(f"{token!r} looks like a hard-coded {what}: Ids differ between orgs "
                      "(sandbox, production), so the flow breaks when it is deployed elsewhere. "
                      "Pass the Id in an input variable, or find the record by a stable field",
                      path, key=False, element=element, offset=match.start())


def cyclomatic_complexity(ctx: LintContext, options: Mapping[str, Any]) -> Iterator[Hit]:
    threshold = options["threshold"]
    facts = [kind_of(e).facts(e) for e in ctx.model.elements.values()]
    loops = sum(1 for f in facts if f.loop)
    outcomes = sum(f.outcomes for f in facts)      # each rule plus the default outcome
    complexity = outcomes + loops
    if complexity > threshold:
        yield Hit(f"flow {ctx.model.flow} has a cyclomatic complexity of {complexity} "
                  f"({outcomes} decision outcomes and {loops} loops), above the threshold of "
                  f"{threshold}: split it into smaller flows, or simplify its decisions", ("flow",))


def api_version(ctx: LintContext, options: Mapping[str, Any]) -> Iterator[Hit]:
    threshold = Decimal(str(options["threshold"]))
    data = ctx.doc.data if isinstance(ctx.doc.data, dict) else {}
    if "apiVersion" not in data:
        yield Hit(f"flow {ctx.model.flow} does not set apiVersion, so it runs with the current "
                  f"default ({ctx.model.api_version}): pin it, e.g. 'apiVersion: "
                  f"{ctx.model.api_version}', so a new default cannot change how it runs",
                  ("flow",))
    elif ctx.model.api_version < threshold:
        yield Hit(f"apiVersion {ctx.model.api_version} is older than {threshold}: older versions "
                  "run with older behaviour (below 57, a 2,000-element limit per interview). "
                  "Raise it to a current version and re-test the flow", ("apiVersion",), key=False)


_COPY: Final = re.compile(r"^Copy_\d+_of_", re.IGNORECASE)


def copy_api_name(ctx: LintContext, options: Mapping[str, Any]) -> Iterator[Hit]:
    for name in ctx.model.elements:
        if _COPY.match(name):
            yield Hit(f"element {name} keeps the name Flow Builder gave a pasted copy: rename "
                      "it to say what it does (and update its connectors)", ("elements", name),
                      element=name)


RULES: Final[dict[str, Rule]] = {rule.id: rule for rule in (
    Rule("MissingFaultPath", "Element without a fault path",
         "An Action or record element (Get, Create, Update, Delete Records) has no fault "
         "connector, so an error in it fails the whole interview and rolls back its work "
         "instead of being handled.",
         "error", missing_fault_path),
    Rule("ActionCallsInLoop", "Action called inside a loop",
         "An Action element runs once per item of a loop; actions are bulk operations and "
         "should be called once, after the loop, with the collected inputs.",
         "warning", action_calls_in_loop),
    Rule("UnusedVariable", "Unused variable",
         "A variable (neither input nor output) that no element, formula or template uses.",
         "warning", unused_variable),
    Rule("UnconnectedElement", "Unconnected element",
         "An element that no path from the start reaches; it never runs.",
         "warning", unconnected_element),
    Rule("FlowDescription", "Missing flow description",
         "The flow has no description; a description tells maintainers what it is for.",
         "note", flow_description),
    Rule("HardcodedId", "Hard-coded record Id",
         "A literal that looks like a Salesforce record Id (15 or 18 characters with a known key "
         "prefix or a valid checksum); Ids differ between orgs.",
         "error", hardcoded_id),
    Rule("CyclomaticComplexity", "Cyclomatic complexity too high",
         "The number of decision outcomes and loops is above the threshold (default 25): the "
         "flow has too many paths to understand and test.",
         "warning", cyclomatic_complexity, {"threshold": 25}),
    Rule("APIVersion", "Outdated or missing API version",
         "The flow's apiVersion is missing or below the threshold (default 50).",
         "warning", api_version, {"threshold": 50}),
    Rule("CopyAPIName", "Copied element API name",
         "An element still has the name Flow Builder gives a pasted copy (Copy_1_of_...).",
         "warning", copy_api_name),
    Rule("SOQLQueryInLoop", "Query inside a loop",
         "A Get Records element (or an Update or Delete Records by filters) runs once per item "
         "of a loop; a transaction may run 100 queries.",
         "error", soql_query_in_loop),
    Rule("DMLStatementInLoop", "Record write inside a loop",
         "A Create, Update or Delete Records element runs once per item of a loop; a "
         "transaction may run 150 DML statements.",
         "error", dml_statement_in_loop),
    Rule("GetRecordsWithoutFilter", "Get Records without a filter",
         "A Get Records element reads every record of its object.",
         "warning", get_records_without_filter),
    Rule("GetRecordAllFields", "Get Records storing every field",
         "A Get Records element stores every field of its object automatically instead of "
         "the fields the flow uses.",
         "note", get_record_all_fields),
    Rule("MissingNullHandler", "Get Records result not tested for null",
         "A Get Records element without a fault connector stores records that no Decision tests "
         "for null; when nothing is found, later elements read null.",
         "warning", missing_null_handler),
)}


def rule_ids() -> list[str]:
    return list(RULES)
