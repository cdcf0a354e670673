"""Consistency rules: one catalog (expectations/rules.yml + the indicator catalog's relations),
two engines generated from it (offline Python in `cchc check`, set-based SQL run by Great
Expectations in the warehouse)."""
