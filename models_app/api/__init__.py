"""The v2 API routes for entries, cards, schemas and search."""
