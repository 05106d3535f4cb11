"""Pages of the tickets area (blueprint `tickets`, URL prefix /tickets) and its JSON API (`api_bp`)."""

from flask import Blueprint

bp = Blueprint("tickets", __name__, url_prefix="/tickets")
api_bp = Blueprint("tickets_api", __name__, url_prefix="/api/v1")
