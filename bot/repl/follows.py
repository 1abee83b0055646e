"""/follow, /following, /unfollow in the terminal, and the alerts shown between prompts.

The terminal's user is one chat (``repl:local``), whatever the session: follows outlive a
REPL run, and alerts that arrived while it was closed are shown at the next prompt."""

from __future__ import annotations

from retrieval.errors import InputError
from retrieval.follows.alerts import alert_text
from retrieval.follows.service import Follows

CHAT = "repl:local"
COMMANDS = ("/follow", "/following", "/unfollow")


def follows_of(service: object) -> Follows | None:
    """The service's follows, when it has them (a fake service in tests may not)."""
    found = getattr(service, "follows", None)
    return found if isinstance(found, Follows) else None


def run(follows: Follows, name: str, arg: str) -> str:
    """Run a follow command; returns what to tell the user."""
    if name == "/follow":
        if not arg:
            return "Which topic? e.g. /follow NATO and Russia"
        try:
            f = follows.follow(CHAT, arg)
        except InputError as e:
            return f"Could not follow that: {e}."
        return f"Following {f.topic} (id {f.id}); new articles on it are shown at the prompt."
    if name == "/following":
        listed = follows.following(CHAT)
        if not listed:
            return "You follow no topics yet; try /follow NATO and Russia."
        return "\n".join(f"{f.id}. {f.topic}" for f in listed)
    if not arg.lstrip("#").isdigit():
        return "Which one? /unfollow ID, with an id from /following."
    gone = follows.unfollow(CHAT, int(arg.lstrip("#")))
    return f"Stopped following {gone.topic}." if gone else f"You follow no topic {arg}."


def drain(follows: Follows) -> list[str]:
    """Scan for new articles; the alerts waiting for the terminal, as text, taken out of
    the outbox."""
    follows.tick()
    out = []
    for alert in follows.pending(CHAT):
        if alert.chat == CHAT:
            out.append(alert_text(alert))
            follows.delivered(alert)
    return out
