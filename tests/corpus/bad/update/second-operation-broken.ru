INSERT DATA { <http://example.org/a> <http://example.org/b> <http://example.org/c> } ;
INSERT DATA { <http://example.org/a> <http://example.org/b> oops }
