"""Customers (送检单位) and their contacts."""
