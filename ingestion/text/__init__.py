"""Vietnamese report text: labels folded for matching, numbers and legends as units type them, and the
level phrases that give a figure its scope. Read by the indicator catalog, the workbook reader and the
Word reader alike, so the catalog does not depend on any reader."""
