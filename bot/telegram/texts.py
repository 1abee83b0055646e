"""Everything the Telegram bot says by itself, as Telegram HTML.

Values put into these templates are escaped by the caller (``render.esc``).
"""

from __future__ import annotations

HELP = """\
<b>Hello! I answer questions about the news articles I have read</b>, and I cite them.

I know {articles}{dates}{sources}.

Just ask, in plain words{group_hint}. Follow-up questions work: I remember our conversation.
Under each answer, the buttons show the sentence each source was quoted from.

/sources – the sources of my last answer, with their quotes
/reset – forget our conversation
/ask <i>question</i> – ask (handy in groups)
/help – this message"""

GROUP_HINT = "; in a group, mention me ({mention}) or reply to one of my messages"
NO_INDEX = "no articles yet"

RESET = "Done: I have forgotten our conversation. Ask me something new."
NO_SOURCES = "I have no sources to show yet: ask me a question first."
ABSTAINED_SOURCES = "My last answer had no sources: the articles did not contain it."
ASK_WHAT = (
    "What would you like to know? Write your question after the command or the mention, "
    "e.g. <code>/ask What did the minister announce?</code>"
)
ONLY_TEXT = "I can only read text questions."
UNKNOWN_COMMAND = "I don't know that command. Send /help to see what I can do."

REFUSED = (
    "Sorry, this bot is private. If you should have access, ask its operator to add your "
    "user id <code>{user_id}</code> to the allow-list."
)
REFUSED_SHORT = "Sorry, this bot is private."  # plain text: a button's alert
RATE_LIMITED = (
    "You are asking faster than I can keep up ({limit} questions a minute). "
    "Please try again in {seconds} seconds."
)
TOO_LONG = (
    "That question is too long ({length} characters; the limit is {limit}). Please shorten it."
)
INPUT_ERROR = "I could not take that question: {reason}."
ERROR = "Sorry, something went wrong while I was answering. Please try again in a moment."

QUOTE_BUTTON = "Quote [{n}]"
QUOTE_GONE = "That source is no longer available. Send /sources for my last answer's sources."

# --- follows and alerts ----------------------------------------------------------------
FOLLOW_WHAT = (
    "Which topic should I follow? Write it after the command, e.g. "
    "<code>/follow NATO and Russia</code>"
)
FOLLOWED = (
    "Following <b>{topic}</b> (id {id}). I will message you, with a source, when a new "
    "article on it arrives. /following lists your topics."
)
FOLLOWING_NONE = "You follow no topics yet. Try <code>/follow NATO and Russia</code>."
FOLLOWING = "<b>Topics you follow</b>\n{lines}\n\n/unfollow <i>id</i> stops one."
UNFOLLOW_WHAT = "Which one? Send <code>/unfollow ID</code> with an id from /following."
UNFOLLOWED = "Stopped following <b>{topic}</b>."
NO_SUCH_FOLLOW = "You follow no topic with id {id}. /following lists them."
FOLLOW_ERROR = "I could not follow that: {reason}."
FOLLOWS_OFF = "Following topics is not available on this bot."
BRIEFING_WHAT = (
    "When? Send <code>/briefing 07:30</code> (UTC), <code>/briefing 07:30 Europe/Berlin</code>, "
    "or <code>/briefing off</code>."
)
BRIEFING_SET = "Your daily briefing comes at {at} ({tz}) on the topics you follow."
BRIEFING_OFF = "No more daily briefing."
