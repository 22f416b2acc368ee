"""Views of the questionnaires app: the patient's pages (``patient``: personal link, clinic
tablet) and the staff's pages (``staff``: overview, links and letters, tablet start, phone
entry, corrections)."""
