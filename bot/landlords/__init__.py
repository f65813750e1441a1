"""Landlords: the concern flow, invites, their texts, and telling them when someone acts."""
