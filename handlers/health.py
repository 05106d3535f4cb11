"""`/healthz`: is the app up and can it reach its database."""

from flask import Blueprint, jsonify
from sqlalchemy import text

from core import db

bp = Blueprint("health", __name__)


@bp.route("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as err:  # any driver error means the database is not usable
        return jsonify({"status": "error", "database": type(err).__name__}), 503
    return jsonify({"status": "ok", "database": "ok"})
