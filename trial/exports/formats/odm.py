"""CDISC ODM 1.3.2: one XML file written with ``lxml.etree.xmlfile`` element by
element, one SubjectData per participant holding every form."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator

from django.conf import settings
from django.utils import timezone

from trial.exports.tables import Table, text

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
_ODM_TYPES = {
    "integer": "integer",
    "boolean": "integer",
    "decimal": "float",
    "text": "text",
    "date": "date",
    "datetime": "datetime",
}
ENROLMENT = "ENROLMENT"


ODM_NAME = "vertebra_odm.xml"


def oid(*parts: str) -> str:
    return ".".join(p.replace(" ", "_") for p in parts)


def _translated(xf, tag: str, text_value: str) -> None:
    from lxml import etree

    with xf.element(tag):
        el = etree.Element("TranslatedText")
        el.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
        el.text = text_value
        xf.write(el)


def _odm_events(tables: list[Table]) -> list[str]:
    from trial.protocol import active_schedule
    from trial.protocol.visits import visit_codes  # the protocol's visits, BL first

    codes = [ENROLMENT, *visit_codes()]
    codes += [v.code for v in active_schedule().visits if v.code not in codes]
    return codes


def write_odm(zf: zipfile.ZipFile, tables: list[Table], meta: dict) -> None:
    from lxml import etree

    forms = [t for t in tables if t.keyed]
    events = _odm_events(forms)
    study_oid = oid("ST", settings.TRIAL_NAME)
    mdv_oid = "MDV.1"
    created = timezone.localtime().replace(microsecond=0).isoformat()
    with (
        zf.open(ODM_NAME, "w", force_zip64=True) as raw,
        etree.xmlfile(raw, encoding="utf-8") as xf,
    ):
        xf.write_declaration()
        attrs = {
            "FileType": "Snapshot",
            "FileOID": oid("EXPORT", meta["run_id"]),
            "CreationDateTime": created,
            "ODMVersion": "1.3.2",
            "Originator": settings.TRIAL_NAME,
            "Granularity": "All",
        }
        with xf.element("ODM", attrs, nsmap={None: ODM_NS}):
            with xf.element("Study", OID=study_oid):
                with xf.element("GlobalVariables"):
                    for tag in ("StudyName", "StudyDescription", "ProtocolName"):
                        el = etree.Element(tag)
                        el.text = settings.TRIAL_NAME
                        xf.write(el)
                _odm_metadata(xf, forms, events, mdv_oid)
            with xf.element("ClinicalData", StudyOID=study_oid, MetaDataVersionOID=mdv_oid):
                _odm_clinical(xf, forms, events)


def _odm_metadata(xf, forms: list[Table], events: list[str], mdv_oid: str) -> None:
    from lxml import etree

    per_event: dict[str, list[str]] = {e: [] for e in events}
    for t in forms:
        if t.key_name == "visit" and t.repeated:
            for e in events[1:]:
                per_event[e].append(t.code)
        else:
            per_event[ENROLMENT].append(t.code)
    used = [e for e in events if per_event[e]]
    with xf.element("MetaDataVersion", OID=mdv_oid, Name="VERTEBRA export metadata"):
        with xf.element("Protocol"):
            for n, e in enumerate(used, 1):
                xf.write(etree.Element("StudyEventRef", StudyEventOID=oid("SE", e),
                                       OrderNumber=str(n), Mandatory="No"))  # fmt: skip
        for e in used:
            with xf.element("StudyEventDef", OID=oid("SE", e), Name=e, Repeating="No",
                            Type="Scheduled"):  # fmt: skip
                for code in per_event[e]:
                    xf.write(etree.Element("FormRef", FormOID=oid("F", code), Mandatory="No"))
        for t in forms:
            with xf.element("FormDef", OID=oid("F", t.code), Name=t.label, Repeating="No"):
                xf.write(etree.Element("ItemGroupRef", ItemGroupOID=oid("IG", t.code),
                                       Mandatory="Yes"))  # fmt: skip
        for t in forms:
            repeating = "Yes" if _repeat_key_kind(t) else "No"
            with xf.element("ItemGroupDef", OID=oid("IG", t.code), Name=t.label,
                            Repeating=repeating):  # fmt: skip
                for v in t.variables:
                    xf.write(etree.Element("ItemRef", ItemOID=oid("I", t.code, v.name),
                                           Mandatory="No"))  # fmt: skip
        for t in forms:
            for v in t.variables:
                with xf.element("ItemDef", OID=oid("I", t.code, v.name), Name=v.name,
                                DataType=_ODM_TYPES[v.type]):  # fmt: skip
                    unit = f" ({v.unit})" if v.unit else ""
                    _translated(xf, "Description", f"{v.label}{unit}")
                    if v.codes:
                        xf.write(
                            etree.Element("CodeListRef", CodeListOID=oid("CL", t.code, v.name))
                        )
        for t in forms:
            for v in t.variables:
                if not v.codes:
                    continue
                data_type = _ODM_TYPES[v.type]
                with xf.element("CodeList", OID=oid("CL", t.code, v.name), Name=v.name,
                                DataType=data_type):  # fmt: skip
                    for code, meaning in v.codes:
                        with xf.element("CodeListItem", CodedValue=str(code)):
                            _translated(xf, "Decode", str(meaning))


def _by_visit(table: Table) -> bool:
    return table.key_name == "visit" and table.repeated


def _repeat_key_kind(table: Table) -> str:
    """How a form's item groups are told apart within one event: by the key (criterion,
    level, event number...), by a running number (several calls in one visit), or not."""
    if table.key_name != "visit":
        return "key"
    return "count" if table.extra.get("several_per_key") else ""


def _odm_clinical(xf, forms: list[Table], events: list[str]) -> None:
    """One SubjectData per participant holding every form, then the screening-log entries of
    patients who never became participants (``LOG-<entry>``).

    Every form streams in trial-number order (``trial.exports.registry.ByteOrder``), so the streams
    merge with ``heapq.merge`` and only one participant's records are in memory at a time.
    """
    import heapq
    import itertools

    def stream(index: int, table: Table) -> Iterator[tuple[str, int, tuple]]:
        for row in table.rows():
            if row[0]:
                yield row[0], index, row

    merged = heapq.merge(*(stream(i, t) for i, t in enumerate(forms)), key=lambda r: r[0])
    event_order = {code: n for n, code in enumerate(events)}
    for tn, records in itertools.groupby(merged, key=lambda r: r[0]):
        _odm_subject(xf, tn, forms, [(i, row) for _tn, i, row in records], event_order)
    for index, table in enumerate(forms):
        if table.extra.get("unregistered"):  # a second pass over that form only
            for row in table.rows():
                if not row[0]:
                    _odm_subject(xf, f"LOG-{row[2]}", forms, [(index, row)], event_order)
        xf.flush()


def _odm_subject(xf, subject_key, forms, records, event_order) -> None:
    from lxml import etree

    per_event: dict[str, dict[int, list[tuple]]] = {}
    for index, row in records:
        event = row[1] if _by_visit(forms[index]) else ENROLMENT
        per_event.setdefault(event, {}).setdefault(index, []).append(row)
    with xf.element("SubjectData", SubjectKey=subject_key):
        for event in sorted(per_event, key=lambda e: (event_order.get(e, len(event_order)), e)):
            sed = etree.Element("StudyEventData", StudyEventOID=oid("SE", event))
            for index in sorted(per_event[event]):
                table = forms[index]
                fd = etree.SubElement(sed, "FormData", FormOID=oid("F", table.code))
                repeat = _repeat_key_kind(table)
                group_oid = oid("IG", table.code)
                for n, row in enumerate(per_event[event][index], start=1):
                    attrs = {"ItemGroupOID": group_oid}
                    if repeat == "key":
                        attrs["ItemGroupRepeatKey"] = str(row[1])
                    elif repeat == "count":
                        attrs["ItemGroupRepeatKey"] = str(n)
                    igd = etree.SubElement(fd, "ItemGroupData", **attrs)
                    for var, value in zip(table.variables, row[2:], strict=True):
                        if value is not None and value != "":
                            item_oid = oid("I", table.code, var.name)
                            etree.SubElement(igd, "ItemData", ItemOID=item_oid, Value=text(value))
            xf.write(sed)
