"""CCHC warehouse: read unit workbooks, stage figures, check them, publish marts."""
