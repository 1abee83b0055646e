"""The Telegram front end: `newsbot telegram` (see ``app.build_application`` and ``app.run``)."""
