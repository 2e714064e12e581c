"""Reads of the profiles app, split by sub-domain."""
