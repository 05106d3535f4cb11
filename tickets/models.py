"""Calls, tickets, co-handling tasks, ticket events and the deadline policy."""
