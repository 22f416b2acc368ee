"""Participants: the patient, identity, death and withdrawal."""
