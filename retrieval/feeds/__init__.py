"""Following RSS/Atom feeds and web pages: fetch, parse, extract, identify, poll, copies."""
