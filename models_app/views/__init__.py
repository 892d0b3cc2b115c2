"""Pages for entries: marketplace, entry pages, cards and schema administration."""
