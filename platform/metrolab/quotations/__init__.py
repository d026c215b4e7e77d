"""报价单 (DB1304/T 505—2025 §5.3.2 / 业务流转 §5.7): quotations, their review and approval, printing."""
