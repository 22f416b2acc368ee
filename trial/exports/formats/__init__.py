"""One module per export format: CSV, XLSX, Stata and CDISC ODM 1.3.2.

Each writes the tables of trial.exports.tables into the export's ZIP as they stream.
"""
