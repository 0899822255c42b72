"""The web parts every face shares: content negotiation, errors and answers, limits and guards
on requests, the parsing processes, rate limiting, security headers, caching, observability.
"""
