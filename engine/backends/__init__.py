"""Backends that compute the dream step's gradient: one interface (see issue 4)."""
