DELETE DATA { _:b <http://example.org/b> <http://example.org/c> }
