"""Seeded demo data for the platform: a Huairen-sized city of market subjects and the files its
province push and its departments would drop into the inbox, with planted cases and counted defects.

Entry point: ``credit_platform.demo.generate.generate`` (see ``README.md`` in this folder). The
package imports nothing heavy; ``openpyxl`` is imported only when the XLSX files are written.
"""
