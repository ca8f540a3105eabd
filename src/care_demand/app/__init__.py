"""The browser app for commissioners and finance officers (``care-demand-app``).

A local web app (Shiny for Python) over the same code as the command line: check a data
folder and see its recorded history (:mod:`~care_demand.app.actions`), run the baseline and
scenarios in the background (:mod:`~care_demand.app.jobs`), and read the results of any run
folder (:mod:`~care_demand.app.results`). The pages (:mod:`~care_demand.app.ui`) only wire
these plain functions; :mod:`~care_demand.app.main` starts it on 127.0.0.1, or on another
address with an access token. Every asset is served locally: it needs no network.
"""

__all__ = ["create_app", "main"]


def __getattr__(name: str) -> object:
    if name == "create_app":
        from care_demand.app.ui import create_app

        return create_app
    if name == "main":
        from care_demand.app.main import main

        return main
    raise AttributeError(name)
