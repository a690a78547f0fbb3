"""The foundation: settings, errors, the entry schema and store, personal-data patterns, storage.

This package imports nothing else of the project; everything else may import it.
"""
