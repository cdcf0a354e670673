"""The data team's console: worklist, unit pages with reviews, dashboards (FastAPI, offline)."""
