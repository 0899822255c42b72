"""ingest/reference"""
