"""Governor limits: what one transaction may query and write, counted as the platform counts.

Salesforce's per-transaction limits ("Execution Governors and Limits", Apex Developer Guide;
"Per-Transaction Flow Limits", Flow Builder help): 100 SOQL queries, 50,000 records retrieved by
queries, 150 DML statements, 10,000 records processed by DML statements. In a flow:

- each Get Records is one query, and the records it returns count as rows retrieved;
- Update Records and Delete Records by filters query first (one query, the records found are
  rows retrieved), then write (one DML statement);
- Create, Update and Delete Records are one DML statement each, whatever the number of records;
  the records written count as DML rows;
- Roll Back Records is one DML statement (Apex counts `Database.rollback` as one);
- an element given an empty collection does not reach the database and counts nothing.

Actions are not counted: what an action does inside the platform is its own business, and
Salesforce does not document what the Order Management actions cost.

Going past a limit is the platform's `System.LimitException`: no fault connector catches it, the
interview fails and its transaction rolls back. The message starts as the platform's does ("Too
many SOQL queries: 101": the limit plus one, the count at which the platform stops) and then says
which limit it is.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from flowengine.errors import LimitExceeded

QUERIES: Final = 100
QUERY_ROWS: Final = 50_000
DML_STATEMENTS: Final = 150
DML_ROWS: Final = 10_000


class GovernorLimitExceeded(LimitExceeded):
    """A transaction went past a governor limit: uncatchable, the interview fails."""


@dataclass
class Limits:
    """The counts of one transaction, shared by every interview that runs in it.

    Interviews that run as one batch (the flows a write of many records starts, the
    subscribers of a batch of events) are bulkified as the platform does: the n-th execution
    of an element across the batch's interviews is one statement, so an element counts as many
    queries or DML statements as the most times one interview ran it; rows always count."""

    queries: int = 0
    query_rows: int = 0
    dml_statements: int = 0
    dml_rows: int = 0
    # batches under way (innermost last): element key → statements counted so far
    _batches: list[dict[str, int]] = field(default_factory=list, repr=False)
    # the executions of each element by the interview running now, per batch
    _runs: list[dict[str, int]] = field(default_factory=list, repr=False)

    def start_batch(self) -> None:
        self._batches.append({})
        self._runs.append({})

    def next_interview(self) -> None:
        """A new interview of the current batch starts."""
        if self._runs:
            self._runs[-1] = {}

    def end_batch(self) -> None:
        self._batches.pop()
        self._runs.pop()

    def _statement(self, key: str | None) -> bool:
        """Whether an execution of element `key` is a new statement (see the class)."""
        if not self._batches or key is None:
            return True
        runs, batch = self._runs[-1], self._batches[-1]
        n = runs[key] = runs.get(key, 0) + 1
        if n > batch.get(key, 0):
            batch[key] = n
            return True
        return False

    def query(self, element: str, key: str | None = None) -> None:
        """One more query, before it runs (`key`: the flow and element, for bulkified
        batches)."""
        if not self._statement(key):
            return
        self.queries += 1
        if self.queries > QUERIES:
            raise GovernorLimitExceeded(
                f"Too many SOQL queries: {QUERIES + 1} (a transaction may run {QUERIES} queries; "
                "each Get Records, and each Update or Delete Records by filters, is one)", element)

    def rows_retrieved(self, count: int, element: str) -> None:
        """Records a query returned."""
        self.query_rows += count
        if self.query_rows > QUERY_ROWS:
            raise GovernorLimitExceeded(
                f"Too many query rows: {QUERY_ROWS + 1} (a transaction may retrieve "
                f"{QUERY_ROWS:,} records in all; this query would bring it to "
                f"{self.query_rows:,})", element)

    def dml(self, rows: int, element: str, key: str | None = None) -> None:
        """One more DML statement writing `rows` records, before it runs."""
        if self._statement(key):
            self.dml_statements += 1
        if self.dml_statements > DML_STATEMENTS:
            raise GovernorLimitExceeded(
                f"Too many DML statements: {DML_STATEMENTS + 1} (a transaction may run "
                f"{DML_STATEMENTS} statements; each Create, Update, Delete or Roll Back Records "
                "is one)", element)
        self.dml_rows += rows
        if self.dml_rows > DML_ROWS:
            raise GovernorLimitExceeded(
                f"Too many DML rows: {DML_ROWS + 1} (a transaction may write {DML_ROWS:,} "
                f"records in all; this statement would bring it to {self.dml_rows:,})", element)

    @property
    def used(self) -> bool:
        return bool(self.queries or self.dml_statements)

    def to_json(self) -> dict[str, Any]:
        return {"queries": {"used": self.queries, "limit": QUERIES},
                "queryRows": {"used": self.query_rows, "limit": QUERY_ROWS},
                "dmlStatements": {"used": self.dml_statements, "limit": DML_STATEMENTS},
                "dmlRows": {"used": self.dml_rows, "limit": DML_ROWS}}

    def summary(self) -> str:
        """`2 of 100 queries, 14 of 50,000 rows retrieved, 1 of 150 DML statements, ...`"""
        return (f"{self.queries} of {QUERIES} queries, {self.query_rows:,} of {QUERY_ROWS:,} rows "
                f"retrieved, {self.dml_statements} of {DML_STATEMENTS} DML statements, "
                f"{self.dml_rows:,} of {DML_ROWS:,} rows written")
