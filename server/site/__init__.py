"""The site around the data: the home page, the dumps and their list, the VoID description.

`blueprint` is what the application registers.
"""

from alliance.server.site.pages import blueprint

__all__ = ["blueprint"]
