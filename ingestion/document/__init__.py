"""Word (.docx) reports: the narrative and its appendix tables."""
