"""Certificates: templates as reviewed data, numbering, issuing (PDF + QR), public verification, printing."""
