"""What more than one bench script runs (imported as `from _common import ...`, which works when a
script is run as `python bench/X.py`: Python puts the script's folder first on `sys.path`)."""
from __future__ import annotations

# the interpreter's yardstick loop: each iteration runs one Assignment (counter Add 1) and one
# Decision (counter LessThan limit); bench_interpreter.py and bench_targets.py time it
COUNTER_FLOW = """
flow: Bench_Counter
variables:
  limit: {type: Number, scale: 0, input: true}
  counter: {type: Number, scale: 0, output: true, default: 0}
elements:
  Increment:
    type: Assignment
    assignments:
      - {ref: counter, op: Add, value: 1}
    next: Check
  Check:
    type: Decision
    rules:
      - name: Again
        conditions:
          - {left: counter, op: LessThan, right: "{!limit}"}
        next: Increment
start: Increment
"""
