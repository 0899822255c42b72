INSERT DATA { ?s <http://example.org/b> <http://example.org/c> }
