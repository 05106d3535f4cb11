"""The landing page: what each role works on first."""

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

from handlers.common import login_required

bp = Blueprint("home", __name__)


@bp.route("/")
@login_required
def index():
    if current_user.role == "operator":
        return redirect(url_for("kb.search"))  # operators work from the search page
    return render_template("home/index.html")
