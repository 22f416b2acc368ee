"""English formats: Django's British English dates, the 24-hour clock, ISO dates accepted first."""

from django.conf.locale.en_GB.formats import *  # noqa: F403
from django.conf.locale.en_GB.formats import DATE_INPUT_FORMATS as _GB_DATE_INPUTS

TIME_FORMAT = "H:i"  # '14:30'
DATETIME_FORMAT = "j M Y, H:i"  # '25 Oct 2006, 14:30'
SHORT_DATETIME_FORMAT = "d/m/Y H:i"  # '25/10/2006 14:30'
# Date pickers send ISO dates; a typed British date is read as day/month.
DATE_INPUT_FORMATS = ["%Y-%m-%d", *_GB_DATE_INPUTS]
