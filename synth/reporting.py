"""Writing one institution's files to NPR: headers, envelopes, episodes, doses, person ids.

`task.py` decides which files exist (per (module, year, tertial) slot: the first `B`, maybe a
complete `B` resend, maybe an `E` with `Slett`, maybe the same file twice, maybe an earlier faulty
attempt, maybe planted record findings) and when each is extracted and arrives; this module turns
one such file into bytes. Each file has its own random stream and sequence number, so its bytes do
not depend on which other files are written. The sender's model version follows its upgrade day;
the MsgHead receiver is NPR's owner on the day the file is sent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import uuid
from pathlib import Path

from extract.model import faults as F
from synth import history as H
from synth import parameters as P
from synth.faults import UNKNOWN_MODULE_NAME, UNKNOWN_VERSION_NAME, corrupt_file
from synth.fnr import corrupt
from synth.referrals import referral_values
from synth.world import Institution, Person, World, pasient_nr
from synth.xmlwrite import MessageWriter, write_if_changed

MODULE_TYPES = {
    "str": ("XPR_STR", "Stråleterapi"),
    "raa": ("XPR_RAA", "Radiologisk aktivitet"),
    "rad": ("XPR_RAD", "Radiologisk dose"),
    "ord": ("XPR_ORD", "Ordinær NPR-melding"),
    "ide": ("NPR_IDE", "Personidentifikasjon"),
}
SYSTEMS = {
    "str": ("Varian Medical Systems", "ARIA", "16.1"),
    "raa": ("Sectra", "Sectra RIS", "27.2"),
    "rad": ("Sectra", "Sectra DoseTrack", "5.3"),
    "ord": ("DIPS AS", "DIPS Arena", "23.2"),
    "ide": ("DIPS AS", "DIPS Arena", "23.2"),
}
NEW_VERSION, OLD_VERSION = H.NEW_VERSION, H.OLD_VERSION


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S")


class Reporter:
    """Writes files; `meta` is (year, tertial, kind, uttak, arrival, lopenr, rng) of one file."""

    def __init__(self, world: World, inst: Institution, out: Path):
        self.world, self.inst, self.out = world, inst, out
        self.files: list[dict] = []

    # --- header ---------------------------------------------------------------------------------
    def _header(self, module: str, meta):
        year, tertial, kind, uttak, _arrival, lopenr, rng = meta
        frm, to = H.tertial_bounds(year, tertial)
        vendor, system, sysver = SYSTEMS[module]
        name = rng.choice(P.CONTACT_NAMES)
        values = {
            "versjon": H.version(self.inst.orgnr, uttak),
            "meldingstype": "E" if kind == "E" else "B",
            "fraDatoPeriode": frm.isoformat(),
            "tilDatoPeriode": to.isoformat(),
            "uttakDato": uttak.isoformat(),
            "uttakTidspunkt": f"{uttak.isoformat()}T{rng.randint(1, 5):02d}:{rng.randint(0, 59):02d}:00",
            "leverandor": vendor,
            "navnEPJ": system,
            "versjonEPJ": sysver,
            "versjonUt": "3.4.1",
            "lopenr": lopenr,
            "lokalident": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        }
        contact = {
            "kontPerson": name,
            "meldEpost1": f"npr-rapportering@{self.inst.orgnr}.helse.no",
            "typeKontaktperson": "Teknisk",
            "meldTelefon": f"+47 {rng.randint(20000000, 99999999)}",
        }
        return values, contact

    def _writer(self, module: str, meta, header):
        year, tertial, kind, uttak = meta[:4]
        values, _ = header
        name = f"{self.inst.orgnr}/{module}_{self.inst.orgnr}_{year}T{tertial}_{kind}_{values['lopenr']}.xml"
        env = None
        if self.inst.msghead:
            receiver_name, receiver_orgnr = H.receiver(uttak)
            env = {
                "type": MODULE_TYPES[module][0],
                "type_dn": MODULE_TYPES[module][1],
                "gen_date": values["uttakTidspunkt"],
                "msg_id": values["lokalident"],
                "sender_name": self.inst.name,
                "sender_orgnr": self.inst.orgnr,
                "receiver_name": receiver_name,
                "receiver_orgnr": receiver_orgnr,
            }
        w = MessageWriter(self.out / name, module, values["versjon"], self.inst.encoding, env)
        return name, w

    def _start(self, w: MessageWriter, header, deletions=(), units=None, duplicate_equipment=False):
        values, contact = header
        w.open("message", values)
        w.leaf("contact_person", contact)
        w.open("institution", {"institusjonID": self.inst.orgnr, "foretak": self.inst.name})
        if units is not None:
            for unit, equipment in units:
                w.open("unit", unit)
                for i, eq in enumerate(equipment):
                    for _ in range(2 if duplicate_equipment and i == 0 else 1):
                        w.open(
                            "equipment",
                            {
                                "utstyrID": eq.equipment_id,
                                "typeUtstyr": eq.modality,
                                "modalitetDICOM": eq.modality,
                                "produsent": eq.manufacturer,
                                "modell": eq.model,
                                "lokaltNavnUtstyr": f"{eq.modality}-lab {eq.equipment_id[-2:]}",
                                "statusUtstyr": "I drift",
                            },
                        )
                        w.leaf(
                            "equipment_property",
                            {"egenskapType": "Installasjonsår", "verdi": str(eq.installed)},
                        )
                        w.close()
                w.close()
                duplicate_equipment = False
            for ep_id in deletions:
                w.leaf("deletion", {"episodeID": ep_id})

    def _record(self, module, meta, name, w, findings=None):
        year, tertial, kind, uttak, arrival, lopenr, _rng = meta
        sha, size, rows = w.finish()
        frm, to = H.tertial_bounds(year, tertial)
        entry = {
            "name": name,
            "sha256": sha,
            "size": size,
            "module": module,
            "version": w.spec.version,
            "envelope": "msghead" if self.inst.msghead else "bare",
            "encoding": self.inst.encoding,
            "message_type": "E" if kind == "E" else "B",
            "institution": self.inst.orgnr,
            "period_from": frm.isoformat(),
            "period_to": to.isoformat(),
            "uttak_dato": uttak.isoformat(),
            "arrival_date": arrival.isoformat(),
            "lopenr": lopenr,
            "expected": F.LOADED,
            "reason_class": None,
            "findings": dict(findings or {}),
            "rows": rows,
        }
        self.files.append(entry)
        return entry

    # --- units --------------------------------------------------------------------------------
    def units(self, module: str):
        inst = self.inst
        out = []
        if module in ("raa", "rad"):
            for site in inst.sites:
                eqs = [e for mod in sorted(site.equipment) for e in site.equipment[mod]]
                out.append(
                    (
                        {
                            "enhetID": site.unit_id,
                            "orgNr": site.orgnr,
                            "enhetLokal": f"Røntgenavdelingen, {site.name}",
                        },
                        eqs,
                    )
                )
        if module in ("ord", "rad") and inst.ord_equipment:
            out.append(
                (
                    {
                        "enhetID": "KIR1",
                        "orgNr": inst.sites[0].orgnr,
                        "enhetLokal": "Operasjonsavdelingen og hjertelaboratoriet",
                    },
                    inst.ord_equipment,
                )
            )
        if module == "str" and inst.rt_orgnr:
            out.append(
                (
                    {"enhetID": "STR1", "orgNr": inst.rt_orgnr, "enhetLokal": "Avdeling for stråleterapi"},
                    inst.rt_linacs,
                )
            )
        return out

    # --- writing episodes -----------------------------------------------------------------------
    def _episode(self, w: MessageWriter, ep: dict) -> None:
        year = str(ep["start"].year)
        values = {
            "episodeID": ep["id"],
            "innDatoTid": _iso(ep["start"]),
            "utDatoTid": _iso(ep["end"]),
            "debitor": "01",
            "komNrHjem": ep.get("komnr") or ep["person"].komnr,
            "inntilstand": "1",
            "innmateHast": ep["hast"],
            "omsorgsniva": ep["omsorg"],
        }
        if "serie" in ep:
            values["serieID"] = ep["serie"]
        ref = ep.get("ref")
        if ref is not None:
            values["henvisningsperiodeID"] = ref[0]
        w.open("episode", values)
        w.open("contact", {"kontaktType": ep["kontakt"], "stedAktivitet": "1"})
        w.leaf("health_personnel", {"polUtforende": ep["prof"]})
        w.close()
        w.leaf("episode_unit", {"enhetID": ep.get("ref_unit", ep["unit"]), "typeEnhet": "1"})
        if ep["diag"]:
            w.open("condition", {"tilstNr": "1"})
            w.leaf(
                "condition_code",
                {"kodeNr": "1", "kodeverk": "D", "kodeVersjon": year, "kodeVerdi": ep["diag"]},
            )
            w.close()
        start = _iso(ep["start"])
        w.open("service", {"startDatoTid": start, "sluttDatoTid": _iso(ep["end"])})
        w.open("measure", {"typeTiltak": ep["tiltak"], "startDatoTid": start})
        for p in ep["procs"]:
            w.open("procedure", {"prosNr": str(p["nr"])})
            for i, code in enumerate(p["codes"], start=1):
                verk = ep["kodeverk"] if i == 1 else ("K" if code.startswith("ZXM") else "R")
                w.leaf(
                    "procedure_code",
                    {"kodeNr": str(i), "kodeverk": verk, "kodeVersjon": year, "kodeVerdi": code},
                )
            w.close()
        w.close()
        w.close()
        w.close()

    def _patient(self, w: MessageWriter, person) -> str:
        pid = pasient_nr(person.person_id, self.inst.orgnr)
        w.open("patient_holder", {"pasientNr": pid})
        w.leaf("patient", {"pasientNr": pid, "kjonn": person.sex, "fodselsar": str(person.birth_year)})
        return pid

    @staticmethod
    def _by_person(items: list[dict]) -> list[tuple[object, list[dict]]]:
        groups: dict[int, tuple[object, list[dict]]] = {}
        for it in items:
            p = it["person"]
            g = groups.get(p.person_id)
            if g is None:
                groups[p.person_id] = (p, [it])
            else:
                g[1].append(it)
        return list(groups.values())

    def write_episode_file(self, module, meta, episodes, deletions=(), series=None, plant=None):
        header = self._header(module, meta)
        name, w = self._writer(module, meta, header)
        findings = dict(plant or {})
        self._start(w, header, deletions, self.units(module), duplicate_equipment=F.DUPLICATE_KEY in findings)
        for person, eps in self._by_person(episodes):
            self._patient(w, person)
            # the referral periods of the patient's episodes in this file, each once, before them
            written: set[str] = set()
            for ep in eps:
                ref = ep.get("ref")
                if ref is not None and ref[0] not in written:
                    written.add(ref[0])
                    w.leaf("referral_period", referral_values(ref))
            for ep in eps:
                self._episode(w, ep)
            if module == "str":
                self._rt_radiation(w, eps, series)
            w.close()
        return self._record(module, meta, name, w, findings)

    def _rt_radiation(self, w: MessageWriter, eps: list[dict], series: dict) -> None:
        by_series: dict[str, list[dict]] = {}
        for ep in eps:
            if ep["attendance"]:
                by_series.setdefault(ep["serie"], []).append(ep)
        for sid, attendances in by_series.items():
            s = series[sid]
            w.open("medical_radiation", {"medisinskStralingID": f"MS-{sid}"})
            w.open(
                "rt_series",
                {
                    "serieID": sid,
                    "behandlingsserieNavn": s["name"],
                    "intensjon": s["intent"],
                    "nyPasient": s["new"],
                    "datoForste": s["first"].isoformat(),
                },
            )
            for ep in attendances:
                machine, contributions = ep["attendance"]
                w.open(
                    "rt_attendance", {"episodeID": ep["id"], "refUtstyr": ep.get("ref_equipment", machine)}
                )
                for vid, plan, given in contributions:
                    w.leaf(
                        "dose_contribution",
                        {"referansevolumID": vid, "planDose": f"{plan:.2f}", "gittDose": f"{given:.2f}"},
                    )
                w.close()
            w.close()
            for v in s["volumes"]:
                w.leaf(
                    "reference_volume",
                    {
                        "referansevolumID": v["id"],
                        "referansevolumNavn": v["name"],
                        "regionkode": str(v["region"]),
                        "regionNavn": region_name(v["region"]),
                        "planlagtTotalDose": f"{v['planned']:.2f}",
                        "dosekorreksjon": "0",
                    },
                )
            w.close()

    def write_dose_file(self, meta, records, plant=None):
        module = "rad"
        header = self._header(module, meta)
        name, w = self._writer(module, meta, header)
        findings = dict(plant or {})
        self._start(w, header, (), self.units(module), duplicate_equipment=F.DUPLICATE_KEY in findings)
        for person, recs in self._by_person(records):
            pid = self._patient(w, person)
            w.open("medical_radiation", {"medisinskStralingID": f"MS-{pid}-{meta[0]}T{meta[1]}"})
            for r in recs:
                w.open(
                    "dose_event",
                    {
                        "episodeID": r["episode"],
                        "prosNr": str(r["pros"]),
                        "refUtstyr": r.get("ref_equipment", r["equipment"]),
                        "startDatoTid": _iso(r["start"]),
                    },
                )
                for dose_type, verdi, unit, _canonical in r["ind"]:
                    w.leaf("dose_indicator", {"doseType": dose_type, "verdi": verdi, "benevning": unit})
                for code, mbq, _v in r["rf"]:
                    w.leaf("radiopharmaceutical", {"kode": code, "administrertAktivitet": mbq})
                w.close()
            w.close()
            w.close()
        return self._record(module, meta, name, w, findings)

    def write_ide_file(self, meta, persons_by_id: dict[int, Person], plant=None):
        meta = (*meta[:2], "B1", *meta[3:])
        header = self._header("ide", meta)
        name, w = self._writer("ide", meta, header)
        findings = dict(plant or {})
        values, contact = header
        w.open("message", values)
        w.leaf("contact_person", contact)
        w.open("institution", {"institusjonID": self.inst.orgnr, "foretak": self.inst.name})
        persons = sorted(persons_by_id.values(), key=lambda p: p.person_id)
        corrupt_left = findings.get(F.INVALID_FODSELSNUMMER, 0)
        fids = []
        for p in persons:
            fid = p.fid
            if corrupt_left:
                fid, corrupt_left = corrupt(fid), corrupt_left - 1
            fids.append(fid)
            w.leaf(
                "person_ident",
                {"pid": pasient_nr(p.person_id, self.inst.orgnr), "fid": fid, "typeID": p.id_type},
            )
        if findings.get(F.INVALID_FODSELSNUMMER) and not persons:
            findings.pop(F.INVALID_FODSELSNUMMER)
        return self._record("ide", meta, name, w, findings)

    # --- duplicates and faulty attempts ----------------------------------------------------------
    def duplicate(self, entry: dict, arrival: dt.date) -> None:
        name = entry["name"].replace(".xml", "_sendt_igjen.xml")
        write_if_changed(self.out / name, (self.out / entry["name"]).read_bytes())
        dup = dict(entry, name=name, expected=F.DUPLICATE, rows={}, findings={})
        dup["arrival_date"] = arrival.isoformat()
        self.files.append(dup)

    def faulty(self, entry: dict, reason: str, rng: random.Random) -> None:
        """An earlier attempt of the same file, rejected; it arrives the same day."""
        name = entry["name"].replace(".xml", "_forsok1.xml")
        data = (self.out / entry["name"]).read_bytes()
        bad = corrupt_file(data, reason, entry, rng)
        write_if_changed(self.out / name, bad)
        faulty = dict(
            entry,
            name=name,
            sha256=hashlib.sha256(bad).hexdigest(),
            size=len(bad),
            expected=F.REJECTED,
            reason_class=reason,
            rows={},
            findings={},
        )
        if reason == F.UNKNOWN_MODULE:
            faulty["module"] = UNKNOWN_MODULE_NAME
        elif reason == F.UNKNOWN_VERSION:
            faulty["version"] = UNKNOWN_VERSION_NAME
        self.files.append(faulty)


def region_name(code: int) -> str:
    from synth.world import region_names

    return region_names().get(code, "")


def canonical(ind) -> float | None:
    """Canonical value of a dose indicator as written, None for an unknown unit."""
    _dose_type, verdi, unit, _ = ind
    factors = {
        "Gy.cm2": 1.0,
        "cGy.cm2": 0.01,
        "mGy.cm2": 0.001,
        "uGy.m2": 0.01,
        "dGy.cm2": 0.1,
        "s": 1.0,
        "min": 60.0,
        "mGy.cm": 1.0,
        "mGy": 1.0,
    }
    if unit not in factors:
        return None
    return float(verdi) * factors[unit]
