"""``python -m care_demand.app``: the same as ``care-demand-app``."""

from care_demand.app.main import entry

entry()
