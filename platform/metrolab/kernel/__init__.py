"""The lab's own rules that several features share (validity dates, conformity words, domain errors):
one place each, so a certificate, the ledger and statistics can never disagree."""
