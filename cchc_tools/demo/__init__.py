"""Realistic demo data: a country of units, their figures and workbooks, injected faults."""
