"""Listeners on billing's audit events: documents and e-mails follow the money core's changes."""
