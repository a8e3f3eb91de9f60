"""Vigie: open, accountable video protection."""
