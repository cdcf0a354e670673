"""The PostgreSQL warehouse: connections, the embedded server, raw and audit tables."""
