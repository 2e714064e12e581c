"""Writes of the profiles app, split by sub-domain (profiles, photos, verification, swipes, ...)."""
