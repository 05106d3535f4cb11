"""Pages of the spotchecks area (blueprint `spotchecks`, URL prefix /spotchecks) and its JSON API (`api_bp`)."""

from flask import Blueprint

bp = Blueprint("spotchecks", __name__, url_prefix="/spotchecks")
api_bp = Blueprint("spotchecks_api", __name__, url_prefix="/api/v1")
