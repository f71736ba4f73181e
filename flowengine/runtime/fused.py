"""Superinstructions: a cycle of two elements run in one Python loop (issue 17, the hot loop).

The smallest loop a flow has is an Assignment that adds a number literal to a Number variable
and a one-outcome Decision that orders that variable against a limit, leading back to it:

    Increment (counter Add 1) → Check (counter LessThan limit) → Increment → …

Run node by node, each element costs a call of its node's `run` and a step of the interview's
loop. `AddCycle` runs the pair instead in one loop of its own, while the interview stays in the
cycle: the same arithmetic, rounding and 18-digit check as `RoundedAddNode` (or
`RoundedSubtractNode`), the same comparison as `OrderingDecisionNode`, the same element count,
and, traced, the same trace entries. It leaves the loop where anything else would happen:

- at the element limit's recording point (`stop`): the interview's loop runs the rest;
- where the Decision leaves the cycle: the interview goes on at the outcome's target;
- at an Assignment that faults (past 18 digits, or past the decimal context's precision):
  nothing of that step has been done yet, and the interview's loop runs the node again, which
  faults as it always does — the fault, its element and count come from the general node.

The loop starts only when both values are finite Decimals (a null counter or a null limit take
the general nodes), so that every comparison gives a bool and cannot raise. The two values
the cycle changes (the variable and the outcome) are written back whenever the loop ends;
nothing else can read them while it runs.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from flowengine.runtime.trace import TRACE_HEAD, TRACE_TAIL

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from flowengine.elements.assignment import RoundedAddNode
    from flowengine.elements.decision import OrderingDecisionNode
    from flowengine.runtime.interview import Interview
    from flowengine.runtime.nodes import Node
    from flowengine.runtime.trace import TraceBuffer

__all__ = ["AddCycle", "fuse_cycles"]

_BLOCK = (TRACE_TAIL + 1) // 2       # iterations of a traced cycle kept before their entries


def fuse_cycles(nodes: Iterable[Node]) -> bool:
    """Find the cycles of the flow's linked nodes that `AddCycle` runs, and mark their entry
    nodes (`node.cycle`). Whether there is one."""
    found = False
    for node in nodes:
        decision = node.next
        if node.type != "Assignment" or decision is None or decision.type != "Decision":
            continue
        # imported here: both kinds' modules are, as the flow has such nodes (a flow imports
        # only the kinds it uses, flowengine.elements)
        from flowengine.elements.assignment import RoundedAddNode, RoundedSubtractNode
        from flowengine.elements.decision import OrderingDecisionNode

        if type(node) not in (RoundedAddNode, RoundedSubtractNode) or \
                type(decision) is not OrderingDecisionNode:
            continue
        assert isinstance(node, RoundedAddNode) and isinstance(decision, OrderingDecisionNode)
        stays = (decision.target is node, decision.default is node)
        if stays not in ((True, False), (False, True)) or decision.left != node.root or \
                decision.right == node.root or decision.right == decision.outcome or \
                decision.outcome == node.root:
            continue
        node.cycle = AddCycle(node, decision)
        found = True
    return found


class AddCycle:
    """`x Add|Subtract <literal>` → `x <ordering> y` → back (see the module docstring); entered
    at the Assignment."""

    __slots__ = ("add", "decision", "root", "step", "quantum", "low", "high", "right", "fixed",
                 "compare", "outcome", "stay", "leave", "integral", "ref", "op", "condition")

    def __init__(self, add: RoundedAddNode, decision: OrderingDecisionNode) -> None:
        from flowengine.elements.assignment import _LIMIT, _LOW, RoundedSubtractNode

        self.add, self.decision = add, decision
        self.root = add.root
        # x - step is x + (-step): Decimal subtraction is addition of the negated operand
        # (copy_negate, not unary minus, which would turn -0 into 0)
        self.step: Decimal = add.step.copy_negate() if type(add) is RoundedSubtractNode else add.step
        self.low, self.high = _LOW, _LIMIT      # a Number lies between them, as the node checks
        self.quantum: Decimal = add.quantum
        self.right, self.fixed = decision.right, decision.fixed
        self.compare: Callable[[Any, Any], bool] = decision.compare
        self.outcome = decision.outcome
        self.stay = decision.target is add           # the comparison's result that stays in
        self.leave = decision.default if self.stay else decision.target
        # a value quantized to a whole quantum is an integer: trace_json gives int() of it
        self.integral = add.quantum.as_tuple().exponent >= 0  # type: ignore[operator]
        self.ref, self.op, _ = add.rows[0]
        self.condition = decision.conditions[0][0].text

    def _start(self, st: Interview) -> tuple[Decimal, Decimal] | None:
        """The variable and the limit when the loop can run."""
        values = st.values
        old = values.get(self.root)
        bound = values.get(self.right, self.fixed)
        if type(old) is not Decimal or type(bound) is not Decimal or not old.is_finite() or \
                not bound.is_finite():
            return None
        return old, bound

    def run(self, st: Interview, count: int, stop: int) -> tuple[Node | None, int]:
        """Run the cycle from the Assignment, as steps `count + 1` … at most `stop`: the node
        to go on with and the count of elements run then (`count` itself: nothing was run)."""
        start = self._start(st)
        if start is None:
            return self.add, count
        old, bound = start
        values = st.values
        step, quantum, compare, stay = self.step, self.quantum, self.compare, self.stay
        n = (stop - count) >> 1
        low, high = self.low, self.high
        i = 0
        try:
            for i in range(n):
                new = (old + step).quantize(quantum, ROUND_HALF_UP)
                if not low < new < high:
                    break                    # the Assignment faults: its node says so
                old = new
                if compare(new, bound) is not stay:
                    values[self.root] = new
                    values[self.outcome] = not stay
                    return self.leave, count + 2 * i + 2
            else:
                i = n
        except ArithmeticError:              # quantize past the context's precision
            pass
        values[self.root] = old
        if i:
            values[self.outcome] = stay
        return self.add, count + 2 * i

    def run_traced(self, st: Interview, count: int, stop: int,
                   trace: TraceBuffer) -> tuple[Node | None, int]:
        """`run`, with each step's trace entry as the nodes' `run_traced` make it, and the two
        elements marked visited.

        A trace keeps the first TRACE_HEAD and the last TRACE_TAIL steps of a run (`TraceBuffer`),
        so the entries of most steps of a long cycle would be made only to be set aside. The
        loop keeps the values the steps compute instead (Decimals: an entry made from them later
        is the entry made at once), a block at a time; the steps that TRACE_TAIL more steps
        follow cannot be in the trace's tail: those of its head get their entries, the others
        are counted in the trace's summary without them (`TraceBuffer.skip`). When the loop ends,
        the steps left get their entries."""
        start = self._start(st)
        if start is None:
            return self.add, count
        old, bound = start
        step, quantum, compare, stay = self.step, self.quantum, self.compare, self.stay
        low, high = self.low, self.high
        room = (stop - count) >> 1          # the iterations (two steps each) there is room for
        block = _BLOCK
        pending: list[Decimal] = []         # the variable after each iteration without entries
        keep = pending.append
        made = count                        # the steps with entries, or counted in the summary
        before = old                        # the variable before pending's first iteration
        leave = False
        try:
            while room > 0:
                if len(pending) >= 2 * block:    # the older block cannot be in the tail
                    before = self._flush(trace, pending, block, before, made)
                    made += 2 * block
                ahead = min(block, room)
                room -= ahead
                for _ in range(ahead):
                    new = (old + step).quantize(quantum, ROUND_HALF_UP)
                    if not low < new < high:
                        room = 0             # the Assignment faults: its node says so
                        break
                    keep(new)
                    old = new
                    if compare(new, bound) is not stay:
                        leave = True
                        room = 0
                        break
        except ArithmeticError:             # quantize past the context's precision
            pass
        if not pending:
            return self.add, count
        if len(pending) > block:
            older = len(pending) - block
            before = self._flush(trace, pending, older, before, made)
            made += 2 * older
        self._entries(trace.keep, pending, before, made, leave)
        made += 2 * len(pending)
        visited = st.visited
        visited.add(self.add.name)
        visited.add(self.decision.name)
        values = st.values
        values[self.root] = old
        values[self.outcome] = not stay if leave else stay
        return (self.leave if leave else self.add), made

    def _flush(self, trace: TraceBuffer, pending: list[Decimal], older: int, before: Decimal,
               made: int) -> Decimal:
        """Take the `older` first iterations out of `pending`, which TRACE_TAIL more steps
        follow: entries for those of the trace's head, the summary's counts for the others.
        The variable before the iteration pending starts with now."""
        head = min(older, (TRACE_HEAD - made + 1) // 2) if made < TRACE_HEAD else 0
        if head:
            self._entries(trace.keep, pending[:head], before, made, False)
        if older > head:
            trace.skip(made + 2 * head + 1, made + 2 * older,
                       {self.add.name: older - head, self.decision.name: older - head})
        before = pending[older - 1]
        del pending[:older]
        return before

    def _entries(self, keep: Callable[[dict[str, Any]], None], news: list[Decimal],
                 before: Decimal, made: int, leave: bool) -> None:
        """The trace entries of iterations after step `made`: the variable is `before`, then
        each of `news`; the last one leaves the cycle when `leave`."""
        add_name, add_type, ref, op = self.add.name, self.add.type, self.ref, self.op
        decision_name, decision_type = self.decision.name, self.decision.type
        outcome, condition, stay = self.outcome, self.condition, self.stay
        taken = outcome if stay else "default"
        integral = self.integral
        shown = int(before) if before == before.to_integral_value() else float(before)
        number = made
        entry: dict[str, Any] = {}
        for new in news:
            after = int(new) if integral or new == new.to_integral_value() else float(new)
            keep({"step": number + 1, "element": add_name, "type": add_type,
                  "assignments": [{"ref": ref, "op": op, "before": shown, "after": after}]})
            number += 2
            entry = {"step": number, "element": decision_name, "type": decision_type,
                     "conditions": [{"outcome": outcome, "condition": condition, "left": after,
                                     "result": stay}],
                     "outcome": taken}
            keep(entry)
            shown = after
        if leave:       # the last comparison's result left the cycle
            entry["conditions"][0]["result"] = not stay
            entry["outcome"] = "default" if stay else outcome
