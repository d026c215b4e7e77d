"""Statistics (§5.4.7): certificates and original records counted by period, instrument type,
department, verifier, conclusion and customer, with a chart drawn on the server and xlsx/csv export."""
