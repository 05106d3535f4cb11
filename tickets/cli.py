"""`flask tickets …` commands."""

from flask import Flask
from flask.cli import AppGroup


def register(app: Flask) -> None:
    group = AppGroup("tickets", help="The tickets area.")
    app.cli.add_command(group)
