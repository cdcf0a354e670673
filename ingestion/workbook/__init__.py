"""Reading unit workbooks: safety checks, cell grids, table layout, figures."""
