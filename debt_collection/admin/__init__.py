from . import cases, collectors, contacts, help  # noqa: F401  (registers the ModelAdmins)
from .home import admin_home  # noqa: F401  (config/urls.py: a collector's admin home)
