"""Synthetic flows of any size for the canvas benchmark and the browser tests: nested decisions
(with outcomes that end, merge, or jump back), loops with bodies, assignments; deterministic for a
given seed, and valid flow files."""
from __future__ import annotations

import random
from typing import Any

Tail = tuple[str, str]       # (element, connector slot) still to be connected


class _FlowGenerator:
    def __init__(self, seed: int) -> None:
        self.rnd = random.Random(seed)
        self.elements: dict[str, dict[str, Any]] = {}

    def _new(self, prefix: str, element: dict[str, Any]) -> str:
        name = f"{prefix}_{len(self.elements) + 1}"
        self.elements[name] = element
        return name

    def connect(self, tails: list[Tail], target: str) -> None:
        for name, slot in tails:
            element = self.elements[name]
            if slot.startswith("rule"):
                element["rules"][int(slot[4:])]["next"] = target
            else:
                element[slot] = target

    def sequence(self, budget: int, depth: int) -> tuple[str, list[Tail]]:
        """A chain of about `budget` elements: its entry and its loose ends."""
        entry: str | None = None
        tails: list[Tail] = []
        while budget > 0:
            before = len(self.elements)
            first, new_tails = self.item(budget, depth)
            used = len(self.elements) - before
            if entry is None:
                entry = first
            else:
                self.connect(tails, first)
            tails, budget = new_tails, budget - used
            if not tails:
                break
        assert entry is not None
        return entry, tails

    def item(self, budget: int, depth: int) -> tuple[str, list[Tail]]:
        roll = self.rnd.random()
        if budget >= 5 and depth < 4 and roll < 0.3:
            return self.decision(budget, depth)
        if budget >= 3 and depth < 4 and roll < 0.45:
            return self.loop(budget, depth)
        label = self.rnd.choice(["Set total", "Count the items", "Remember the customer's choice",
                                 "Add to list", "Reset"])
        name = self._new("Assign", {"type": "Assignment", "label": label, "assignments": [
            {"ref": "counter", "op": "Add", "value": 1}]})
        return name, [(name, "next")]

    def decision(self, budget: int, depth: int) -> tuple[str, list[Tail]]:
        outcomes = self.rnd.choice([2, 2, 3])
        name = self._new("Check", {"type": "Decision", "rules": [], "defaultLabel": "Otherwise"})
        element = self.elements[name]
        share = max(1, (min(budget, 40) - 1) // (outcomes + 1))
        tails: list[Tail] = []
        earlier = [n for n in self.elements if n != name]
        for i in range(outcomes):
            slot = f"rule{i}" if i < outcomes - 1 else "default"
            if slot != "default":
                element["rules"].append({"name": f"{name}_{i + 1}", "label": f"Case {i + 1}",
                                         "conditions": [{"left": "counter", "op": "GreaterThan",
                                                         "right": i}]})
            roll = self.rnd.random()
            if slot == "default" and not tails:
                roll = 0.3 if roll < 0.35 else roll   # keep the flow going
            if roll < 0.12:
                continue                                   # this outcome ends the flow
            if roll < 0.2 and earlier:
                self.connect([(name, slot)], self.rnd.choice(earlier))   # jump back
                continue
            if roll < 0.35:
                tails.append((name, slot))                # straight to the merge
                continue
            first, branch_tails = self.sequence(share, depth + 1)
            self.connect([(name, slot)], first)
            tails += branch_tails
        return name, tails

    def loop(self, budget: int, depth: int) -> tuple[str, list[Tail]]:
        name = self._new("Each", {"type": "Loop", "collection": "items", "each": None})
        share = max(1, min(budget - 1, 12) // 2)
        first, body_tails = self.sequence(share, depth + 1)
        self.elements[name]["each"] = first
        self.connect(body_tails, name)
        return name, [(name, "after")]


def generate_flow(elements: int = 200, seed: int = 7) -> dict[str, Any]:
    """A flow document (a dict, ready for yaml.safe_dump) with about `elements` elements."""
    gen = _FlowGenerator(seed)
    entry, _ = gen.sequence(elements, 0)
    return {
        "flow": f"Generated_{elements}",
        "label": f"Generated flow ({len(gen.elements)} elements)",
        "description": "A synthetic flow for the canvas benchmark.",
        "variables": {"counter": {"type": "Number", "scale": 0, "default": 0},
                      "items": {"type": "Text", "collection": True, "default": ["a", "b"]}},
        "elements": gen.elements,
        "start": entry,
    }


def generate_flow_yaml(elements: int = 200, seed: int = 7) -> str:
    """`generate_flow` as YAML text."""
    import yaml

    return yaml.safe_dump(generate_flow(elements, seed), sort_keys=False)


# -- a hand-written flow with every shape the canvas draws --------------------------------------

SHOWCASE_YAML = """\
flow: Canvas_Showcase
label: Reserve and notify
description: Every shape the canvas draws - outcomes that end, merge or jump back, a fault path, a loop.
variables:
  qty: {type: Number, scale: 0, input: true, default: 3}
  tries: {type: Number, scale: 0, default: 0}
  items: {type: Text, collection: true, default: [a, b, c]}
  note: {type: Text, output: true}
elements:
  Check_Quantity:
    type: Decision
    label: How many items did the customer order?
    rules:
      - name: None_Ordered
        label: Nothing
        conditions: [{left: qty, op: EqualTo, right: 0}]
      - name: Many
        label: More than ten
        conditions: [{left: qty, op: GreaterThan, right: 10}]
        next: Warn
    default: Reserve
    defaultLabel: A normal amount
  Warn:
    type: Assignment
    label: Note that it is a lot
    assignments: [{ref: note, op: Assign, value: too many}]
    next: Notify
  Reserve:
    type: Action
    label: Reserve stock
    action: reserveStock
    inputs: {qty: "{!qty}"}
    next: Each_Item
    fault: Count_Try
  Count_Try:
    type: Assignment
    label: Count a try
    assignments: [{ref: tries, op: Add, value: 1}]
    next: Retry
  Retry:
    type: Decision
    label: Retry?
    rules:
      - name: Again
        label: Try again
        conditions: [{left: tries, op: LessThan, right: 3}]
        next: Reserve
    default: Give_Up
    defaultLabel: Give up
  Give_Up:
    type: Assignment
    label: Give up
    assignments: [{ref: note, op: Assign, value: "gave up: {!$Flow.FaultMessage}"}]
  Each_Item:
    type: Loop
    label: Each item
    collection: items
    each: Is_B
    after: Notify
  Is_B:
    type: Decision
    label: Is it b?
    rules:
      - name: B
        conditions: [{left: Each_Item, op: EqualTo, right: b}]
        next: Mark_B
    default: Each_Item
  Mark_B:
    type: Assignment
    label: Mark b
    assignments: [{ref: note, op: Add, value: "b"}]
    next: Each_Item
  Notify:
    type: Action
    label: Notify the customer
    action: sendEmail
    inputs: {body: "{!note}"}
start: Check_Quantity
"""


class ShowcaseActions:
    """A stand-in action registry for the showcase: `reserveStock` faults above 5 items,
    `sendEmail` faults when the body says "too many"."""

    def __init__(self) -> None:
        from flowengine.plugins import Action, Parameter
        from flowengine.types import FlowType, TypeRegistry

        self.types = TypeRegistry()
        self.actions = {
            "reserveStock": Action("reserveStock", "Reserve Stock", "Inventory",
                                   "Reserve items in the warehouse.", _reserve,
                                   (Parameter("qty", FlowType("Number")),),
                                   (Parameter("ok", FlowType("Boolean")),)),
            "sendEmail": Action("sendEmail", "Send Email", "Messaging", "Send an email.",
                                _send, (Parameter("body", FlowType("Text")),), ()),
        }

    def action(self, name: str) -> Any:
        return self.actions.get(name)


def _reserve(inputs: Any, ctx: Any) -> dict[str, Any]:
    from flowengine.errors import ActionError

    if (inputs.get("qty") or 0) > 5:
        raise ActionError("INSUFFICIENT_STOCK", "only 5 left in the warehouse")
    return {"ok": True}


def _send(inputs: Any, ctx: Any) -> dict[str, Any]:
    from flowengine.errors import ActionError

    if inputs.get("body") == "too many":
        raise ActionError("MAIL_REJECTED", "the mail server refused the message")
    return {}


def showcase_flow() -> Any:
    """The showcase flow, loaded and checked against `ShowcaseActions`."""
    from flowengine.api import load_flow_text

    return load_flow_text(SHOWCASE_YAML, "showcase.yaml", registry=ShowcaseActions)
