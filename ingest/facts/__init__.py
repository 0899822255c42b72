"""ingest/facts"""
