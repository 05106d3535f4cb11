"""The landing page: what each role works on first."""

from flask import Blueprint, render_template

from handlers.common import login_required

bp = Blueprint("home", __name__)


@bp.route("/")
@login_required
def index():
    return render_template("home/index.html")
