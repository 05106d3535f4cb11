"""`flask spotchecks …` commands."""

from flask import Flask
from flask.cli import AppGroup


def register(app: Flask) -> None:
    group = AppGroup("spotchecks", help="The spotchecks area.")
    app.cli.add_command(group)
