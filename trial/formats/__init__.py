"""Date and time formats per interface language (settings.FORMAT_MODULE_PATH).

Danish uses Django's own Danish formats. English would otherwise be Django's US English
(12/03/2026, 12:04 a.m.), which a Danish hospital reads as the 12th of March: English here is
British English dates with a 24-hour clock, as clinical records in Europe are written.
"""
