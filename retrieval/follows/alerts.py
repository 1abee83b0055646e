"""An alert as data (a cited headline), and its plain-text rendering."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from retrieval.answer import Citation

AlertKind = Literal["alert", "more", "briefing"]


class Alert(BaseModel):
    """One message for a chat: a new article on a followed topic, the folded rest of an
    hour's matches ("and 3 more on X"), or a daily briefing."""

    id: int = Field(default=0, description="The outbox row (0 until stored).")
    chat: str = Field(description="The chat it goes to, as the front end named it.")
    kind: AlertKind = "alert"
    follow_id: int
    topic: str
    citation: Citation | None = Field(
        default=None, description="The article: headline (title), outlet, date, link, quote."
    )
    more: list[Citation] = Field(
        default_factory=list, description="Folded articles, or a briefing's bullets."
    )
    day: str | None = Field(default=None, description="A briefing's day (ISO date).")


def headline_line(c: Citation) -> str:
    """``Title — Outlet, 2021-10-19`` (what is known of it)."""
    meta = ", ".join(x for x in (c.source, (c.date or "")[:10]) if x)
    return f"{c.title} — {meta}" if meta else c.title


def alert_text(alert: Alert) -> str:
    """The alert as plain text (the REPL, logs, the HTTP ``text`` field)."""
    if alert.kind == "briefing":
        lines = [f"Briefing on {alert.topic} ({alert.day}):"]
        lines += [f"- {c.quote} [{headline_line(c)}]" for c in alert.more]
        if not alert.more:
            lines.append(f"Nothing new on {alert.topic}.")
        return "\n".join(lines)
    if alert.kind == "more":
        lines = [f"… and {len(alert.more)} more on {alert.topic}:"]
        lines += [f"- {headline_line(c)}" + (f" {c.url}" if c.url else "") for c in alert.more]
        return "\n".join(lines)
    c = alert.citation
    assert c is not None
    lines = [f"New on {alert.topic} (follow {alert.follow_id}):", headline_line(c)]
    lines.append(f"“{c.quote}” [1]")
    if c.url:
        lines.append(c.url)
    return "\n".join(lines)
