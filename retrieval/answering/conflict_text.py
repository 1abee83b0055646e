"""A conflict in words: each value with its outlet, date and [n] markers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date as Date

from retrieval.answer import Citation, Conflict, ConflictValue


def nice_date(iso: str | None) -> str | None:
    """ "2023-03-04" as "4 March 2023" (other strings unchanged)."""
    if not iso:
        return None
    try:
        d = Date.fromisoformat(iso[:10])
    except ValueError:
        return iso
    return f"{d.day} {d.strftime('%B')} {d.year}"


def conflict_sentence(conflict: Conflict, citations: Sequence[Citation]) -> str:
    """The conflict in words, each value with its outlet, date and [n] markers."""

    def marks(v: ConflictValue) -> str:
        return "".join(f"[{n}]" for n in v.citations)

    def who(v: ConflictValue) -> str:
        source = next((s for s in v.sources if s), None)
        when = nice_date(next((d for d in v.dates if d), None))
        distinct = {next((s for s in x.sources if s), None) for x in conflict.values}
        label = source if source and len(distinct) == len(conflict.values) else "a report"
        if len(v.citations) > 1 and label == "a report":
            label = f"{len(v.citations)} reports"
        return f"{label} ({when})" if when else label

    vals = conflict.values
    if conflict.kind == "update":
        new, older = vals[0], vals[1:]
        when = nice_date(next((d for d in new.dates if d), None))
        head = f"{new.value} as of {when} {marks(new)}" if when else f"{new.value} {marks(new)}"
        olds = "; ".join(
            f"{v.value} reported"
            + (
                f" on {nice_date(next((d for d in v.dates if d), None))}"
                if any(v.dates)
                else " earlier"
            )
            + f" {marks(v)}"
            for v in older
        )
        return f"{head} (updated; {olds})."
    if conflict.kind == "ambiguous":
        parts = []
        for v in vals:
            if v.role == "entity":
                parts.append(f"{v.entity}: {v.value} {marks(v)}")
            else:
                parts.append(f"disputed: {who(v)} says {v.value} {marks(v)}")
        return "The name may mean more than one thing. " + "; ".join(parts) + "."
    if vals[0].role == "supported":
        rest = "; ".join(f"{who(v)} says {v.value} {marks(v)}" for v in vals[1:])
        return f"{vals[0].value} {marks(vals[0])} (disputed: {rest})."
    return "Sources differ: " + "; ".join(f"{who(v)} says {v.value} {marks(v)}" for v in vals) + "."
