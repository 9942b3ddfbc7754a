"""Observatoire ENT dashboard package: authentication, scoped data access, French formatting, charts."""
