"""The pending batch: the figures of the submissions the gate judges in this run.

One name for it everywhere: the table the validate stage materialises (``work.gate_batch``),
the Great Expectations asset, batch definition and validation definition that read it, and the
CTE through which every rule query reads it (``{batch}`` is the placeholder GX substitutes).
"""
SCHEMA = "work"
NAME = "gate_batch"
RELATION = f"{SCHEMA}.{NAME}"
