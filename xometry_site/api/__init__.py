"""The Mini Program's JSON API under /api/mp/v1 (blueprints.py lists its parts)."""
