"""Shared web plumbing: authentication, permissions, CSRF, i18n, templates, errors, navigation."""
