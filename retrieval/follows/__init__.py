"""Follows and alerts: a chat follows a topic; a new feed article on it becomes a cited alert
in an outbox that the front ends drain (see ``service.Follows``)."""
