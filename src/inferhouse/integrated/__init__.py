"""Integrated inference on a vector index: upsert text records, search with text.

Each record's text field is chunked; every chunk becomes one stored vector whose metadata holds the
record's other fields, the chunk's text and where the chunk sits in the record. Searches collapse the
chunk hits to the best chunk per record.
"""
