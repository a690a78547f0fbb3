"""coursebot's knowledge base: entries, search and answers (light to import)."""
