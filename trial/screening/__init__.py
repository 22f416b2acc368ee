"""Screening: log, screening form, eligibility, consent, referral and surgical assessment."""
