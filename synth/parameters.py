"""Every realism parameter of the synthetic generator, in one place, with where it comes from.

Sources: `docs/domain.md` (volumes §8, DSA's reference values §5, radiotherapy views §3),
`docs/messages.md` (units §6, ZXM codes §7), the reference lists in `dbt_project/seeds/reference/`
(behandler.csv, boomr.csv, NCRP/NCSP/NCMP 2017, ICD-10, rt_regionkoder.csv). Anything not from
those is marked [A] (our assumption, chosen to look plausible to a registry analyst).
"""

from __future__ import annotations

# --- World and volumes ----------------------------------------------------------------------
# The synthetic population is fixed (independent of run seed and scale) so the committed
# population seed in dbt_project/seeds/synthetic/population.csv always matches it.
WORLD_SEED = 20250101
POPULATION_TOTAL = 5_550_000  # Norway 2025 ≈ 5.55 M (docs/domain.md §8: about 5.5 M)

# National volumes per year at scale 1.0 (docs/domain.md §8).
IMAGING_EXAMINATIONS = 4_500_000  # 4-5 M examinations, ~900 per 1,000 inhabitants
EXAMINATIONS_PER_VISIT = ((1, 0.80), (2, 0.15), (3, 0.05))  # [A] CT thorax+abdomen as two, etc.
PRIVATE_IMAGING_SHARE = 0.30  # [A] private institutes do ~30 % (mostly X-ray, MR, US)
ORD_ZXM_PROCEDURES = 180_000  # [A] image-guided NCSP/NCMP procedures with a ZXM code in `ord`
ORD_EXTRA_WITHOUT_ZXM = 0.35  # [A] further ord procedures without ZXM, relative to the above
RT_SERIES = 16_000  # 15-18 k series (docs/domain.md §8) → ≈ 200-250 k attendances with the schedules

# --- History: trends over years, relative to the reference year's volumes above [A] ---------------
REFERENCE_YEAR = 2025
# Yearly growth of examinations per modality group (CT grows a few per cent a year).
GROUP_YEARLY_GROWTH = {
    "xray": -0.01,
    "ct": 0.045,
    "mr": 0.03,
    "us": 0.01,
    "nm": 0.0,
    "pet": 0.08,
    "angio": 0.015,
    "fluoro": -0.02,
}
RT_YEARLY_GROWTH = 0.015
# Weight of ultra-hypofractionated curative schedules (≤ 5 fractions) multiplies by this per year
# (breast 26 Gy / 5 after FAST-Forward, prostate SBRT): more hypofractionation over time.
RT_HYPO_YEARLY_FACTOR = 1.35
# Persons: moving to another municipality per person-year; yearly mortality (Gompertz:
# a × exp(b × (age - 50)), at least the floor), about SSB's death rates by age.
MOVE_RATE = 0.03
MORTALITY = (0.003, 0.094, 0.0004)
# Arrival at NPR: days from the extraction (uttakDato) to the file arriving; resends of a year's
# tertials before NPR's yearly deadline (1 March of the following year) [A: the registry's cycle].
ARRIVAL_DELAY_DAYS = (0, 3)
YEARLY_DEADLINE = (3, 1)
YEARLY_RESEND_SHARE = 0.5  # of resends: in the yearly round (January-deadline) rather than soon
DUPLICATE_AFTER_DAYS = (2, 14)

# Age bands of the population table (aggregate to 0-17/18-39/40-59/60-79/80+; 18 = adult cut).
AGE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("0-17", 0, 17),
    ("18-29", 18, 29),
    ("30-39", 30, 39),
    ("40-49", 40, 49),
    ("50-59", 50, 59),
    ("60-69", 60, 69),
    ("70-79", 70, 79),
    ("80+", 80, 99),
)
# Share of the population per band, male share per band (SSB 2024 structure, rounded).
AGE_SHARE = (0.205, 0.160, 0.140, 0.130, 0.135, 0.110, 0.080, 0.045)
MALE_SHARE = (0.513, 0.515, 0.515, 0.512, 0.508, 0.500, 0.480, 0.420)
# Relative imaging use per person by band [A: shaped like published age profiles; elderly ~4x young].
IMAGING_RATE_BY_AGE = (0.30, 0.45, 0.60, 0.75, 1.00, 1.45, 1.90, 2.10)
RT_RATE_BY_AGE = (0.02, 0.05, 0.15, 0.40, 1.00, 2.20, 2.80, 1.80)  # cancer incidence profile [A]

# Real approximate municipality populations (SSB 1 Jan 2025, rounded) for the big ones; the rest
# get a log-normal synthetic size and everything is scaled to POPULATION_TOTAL.
BIG_MUNICIPALITIES = {
    "0301": 717_000,
    "4601": 291_000,
    "5001": 216_000,
    "1103": 150_000,
    "3201": 131_000,  # Bærum
    "4204": 117_000,  # Kristiansand
    "3301": 104_000,  # Drammen
    "3205": 98_000,  # Lillestrøm
    "3107": 85_000,  # Fredrikstad
    "1108": 83_000,  # Sandnes
    "5501": 79_000,  # Tromsø
    "3203": 70_000,  # Asker
    "3105": 60_000,  # Sarpsborg
    "3907": 66_000,  # Sandefjord
    "3909": 49_000,  # Larvik
    "3905": 59_000,  # Tønsberg
    "1804": 53_000,  # Bodø
    "1507": 68_000,  # Ålesund
}
# Municipality numbers of boomr.csv with (almost) no registered residents: Svalbard counts the
# persons registered in the Norwegian settlements (SSB: about 2,500-2,900 in Longyearbyen and
# Ny-Ålesund, 2024), Jan Mayen and the continental shelf have no permanent residents. [C]
MUNICIPALITY_POPULATION_FIXED = {"2100": 2_600, "2211": 0, "2311": 0, "2321": 0}
MUNICIPALITY_CATCHMENT_FIXED = {"2100": "UNN"}  # Svalbard's residents are UNN Tromsø's patients
SMALL_MUNICIPALITY_LOG_MEAN = 8.7  # median ≈ 6,000 inhabitants [A]
SMALL_MUNICIPALITY_LOG_SD = 1.0

# --- Organisations --------------------------------------------------------------------------
# boomr.csv catchment (bohf name) → reporting health trust orgnr.
CATCHMENT_TO_HF = {
    "Finnmark": "983974880",
    "UNN": "983974899",
    "Nordland": "983974910",
    "Helgeland": "983974929",
    "Nord-Trøndelag": "983974791",
    "St. Olav": "883974832",
    "Møre og Romsdal": "997005562",
    "Førde": "983974732",
    "Bergen": "983974724",
    "Fonna": "983974694",
    "Stavanger": "983974678",
    "Østfold": "983971768",
    "Akershus": "983971636",
    "OUS": "993467049",
    "Oslo": "993467049",
    "Indre Oslo": "993467049",
    "Lovisenberg": "965985166",
    "Diakonhjemmet": "982791952",
    "Innlandet": "983971709",
    "Vestre Viken": "894166762",
    "Vestfold": "983975259",
    "Telemark": "983975267",
    "Sørlandet": "983975240",
}

# Public reporting institutions: orgnr, relative imaging volume [A: ~ population served], sites
# as (site orgnr from behandler.csv, tier). Tier decides the equipment: "univ" has everything
# incl. PET and angiography, "central" has NM and angiography, "local" X-ray/CT/US/MR only.
HOSPITALS: dict[str, tuple[float, tuple[tuple[str, str], ...]]] = {
    "993467049": (
        9.0,
        (("874716782", "univ"), ("974589095", "univ"), ("974588951", "local"), ("974707152", "central")),
    ),  # OUS: Rikshospitalet, Ullevål, Aker, Radium
    "983971636": (8.0, (("974706490", "univ"), ("974631776", "local"))),  # Ahus
    "894166762": (
        7.0,
        (("974631326", "central"), ("974705788", "local"), ("974631407", "local"), ("974631385", "local")),
    ),  # Vestre Viken
    "983971709": (
        6.0,
        (("974632535", "central"), ("974631768", "local"), ("874632562", "central"), ("974724960", "local")),
    ),  # Innlandet
    "983971768": (5.0, (("974703734", "central"), ("974633698", "local"))),  # Østfold: Kalnes, Moss
    "983975259": (4.5, (("974633574", "central"),)),  # Vestfold: Tønsberg
    "983975267": (3.0, (("974633191", "central"), ("983974155", "local"))),  # Telemark
    "983975240": (5.0, (("974733013", "central"), ("974631091", "local"))),  # Sørlandet
    "965985166": (2.0, (("974207532", "local"),)),  # Lovisenberg
    "982791952": (2.0, (("974116804", "local"),)),  # Diakonhjemmet
    "983974678": (6.0, (("974703300", "univ"),)),  # Stavanger
    "983974694": (3.5, (("974724774", "central"), ("974742985", "local"))),  # Fonna
    "983974724": (7.5, (("974557746", "univ"), ("974743272", "local"))),  # Bergen: Haukeland, Voss
    "984027737": (1.5, (("974316285", "local"),)),  # Haraldsplass
    "983974732": (2.0, (("974744570", "central"),)),  # Førde
    "997005562": (
        4.5,
        (("974747138", "central"), ("974745569", "local"), ("974747545", "local"), ("974746948", "local")),
    ),  # Møre og Romsdal
    "883974832": (6.0, (("974749025", "univ"), ("974329506", "local"))),  # St. Olav
    "983974791": (2.5, (("974754118", "central"), ("974753898", "local"))),  # Nord-Trøndelag
    "983974910": (2.5, (("974795361", "central"), ("974795574", "local"))),  # Nordland
    "983974929": (1.5, (("974795515", "local"),)),  # Helgeland
    "983974899": (3.5, (("974795787", "univ"), ("974795639", "local"))),  # UNN
    "983974880": (1.5, (("974795833", "local"), ("974795930", "local"))),  # Finnmark
}
# Private imaging institutes (each its own institution and site), relative volume and catchment.
PRIVATE_INSTITUTES: dict[str, tuple[float, str]] = {
    "973279955": (3.0, "OUS"),  # Unilabs Majorstuen
    "979673639": (2.0, "OUS"),  # Unilabs Bryn
    "975787419": (2.0, "OUS"),  # Aleris Helse AS Oslo
    "973129856": (1.5, "OUS"),  # Volvat Oslo
    "974175576": (1.5, "Akershus"),  # Evidia Lillestrøm
    "986671897": (1.5, "Vestre Viken"),  # Evidia Sandvika
    "996629252": (1.0, "Innlandet"),  # Unilabs Hamar
    "999047963": (1.0, "Østfold"),  # Evidia Sarpsborg
    "981096363": (1.0, "Sørlandet"),  # Aleris Agder
    "983896383": (1.5, "Stavanger"),  # Aleris Stavanger
    "974225972": (1.5, "Bergen"),  # Evidia Bergen
    "984676417": (1.0, "Bergen"),  # Unilabs Bergen
    "974188562": (1.5, "St. Olav"),  # Evidia Trondheim
    "976038932": (0.7, "Nordland"),  # Evidia Bodø
    "924377135": (0.7, "UNN"),  # Unilabs Tromsø
}
# Radiotherapy centres: institution → (RT site orgnr as sent in Enhet/@orgNr, linacs, the health
# trusts whose residents it treats). 10-digit values are the real "site orgnr + 0" quirk rows of
# behandler.csv (docs/domain.md §1); volume follows the catchment population.
RT_CENTRES: dict[str, tuple[str, int, tuple[str, ...]]] = {
    "993467049": (
        "9747071520",
        10,
        ("993467049", "983971636", "965985166", "982791952"),
    ),  # OUS Radiumhospitalet
    "983974724": ("9745577460", 5, ("983974724", "983974694")),  # Haukeland
    "883974832": ("9747490250", 4, ("883974832", "983974791")),  # St. Olav
    "983974899": ("9747957870", 3, ("983974899", "983974880")),  # UNN Tromsø
    "983975240": ("9747330130", 3, ("983975240",)),  # Sørlandet Kristiansand
    "983974678": ("9747033000", 3, ("983974678",)),  # Stavanger
    "997005562": ("9747471380", 2, ("997005562",)),  # Ålesund
    "983971709": ("9747249600", 3, ("983971709",)),  # Innlandet (Hamar RT row in behandler.csv)
    "894166762": ("974631326", 3, ("894166762",)),  # Vestre Viken, Drammen (9 digits: no quirk)
    "983971768": ("974703734", 3, ("983971768",)),  # Østfold, Kalnes
    "983975267": ("974633191", 3, ("983975267", "983975259")),  # Telemark, Skien
    "983974910": ("974795361", 2, ("983974910", "983974929")),  # Nordland, Bodø
    "983974732": ("974744570", 1, ("983974732",)),  # Førde
}
# Senders still on 57.0.1 in tertial 1 (they upgraded in spring) [A]; all of the previous year's
# tertial-3 radiotherapy files are 57.0.1 (the older period).
SENDERS_ON_OLD_VERSION_T1 = ("983974880", "983974929", "976038932", "983974791")
MSGHEAD_SHARE = 0.5  # share of senders whose system wraps files in MsgHead [C: both occur]
ISO_8859_1_SHARE = 0.4  # share of senders writing ISO-8859-1 (rest UTF-8) [C: both occur]
NPR_ORGNR = "983544622"  # Helsedirektoratet (NPR), receiver in MsgHead
# The MsgHead receiver over time: NPR moved from Helsedirektoratet to the Norwegian Institute of
# Public Health (FHI) on 1 March 2024. (first day, name, orgnr) [C for the move; orgnr from
# Enhetsregisteret]
NPR_RECEIVERS = (
    ("2000-01-01", "Helsedirektoratet, Norsk pasientregister", NPR_ORGNR),
    ("2024-03-01", "Folkehelseinstituttet, Norsk pasientregister", "983744516"),
)
# Each sender moves from 57.0.1 to 58.0.1 on a day of its own in this window [A]; the late
# adopters above move in spring 2025.
VERSION_UPGRADE_WINDOW = ("2022-03-01", "2025-03-31")
LATE_UPGRADE_DAY = "2025-06-01"

# --- Equipment (docs/domain.md §8: ~1,500 X-ray units, 125 CT, 23 NM departments, ~40 linacs) ----
# Equipment per site by tier: modality → count per 100 k examinations of site volume (min 1).
EQUIPMENT_PER_100K = {
    "univ": {"DX": 9, "CR": 1, "RF": 1.5, "XA": 3, "MG": 1.5, "CT": 3, "MR": 3, "US": 6, "NM": 2, "PT": 1},
    "central": {"DX": 9, "CR": 1, "RF": 1.5, "XA": 2, "MG": 1.5, "CT": 2.5, "MR": 2, "US": 6, "NM": 1.5},
    "local": {"DX": 10, "CR": 1, "RF": 1, "MG": 1.5, "CT": 2, "MR": 1.5, "US": 5},
    "private": {"DX": 8, "MG": 2, "CT": 1.5, "MR": 3, "US": 5},
}
MANUFACTURERS = {
    "DX": ("Siemens Healthineers", "Philips", "Canon Medical", "Fujifilm", "Agfa", "Carestream"),
    "CR": ("Fujifilm", "Agfa", "Carestream"),
    "RF": ("Siemens Healthineers", "Philips", "GE HealthCare"),
    "XA": ("Siemens Healthineers", "Philips", "GE HealthCare", "Canon Medical"),
    "MG": ("Hologic", "Siemens Healthineers", "GE HealthCare", "Fujifilm"),
    "CT": ("Siemens Healthineers", "GE HealthCare", "Philips", "Canon Medical"),
    "MR": ("Siemens Healthineers", "GE HealthCare", "Philips"),
    "US": ("GE HealthCare", "Philips", "Canon Medical", "Samsung"),
    "NM": ("Siemens Healthineers", "GE HealthCare"),
    "PT": ("Siemens Healthineers", "GE HealthCare"),
    "RT": ("Varian", "Elekta"),
}
# Models per modality and manufacturer (each manufacturer's own product names) [C: product lines].
MODELS: dict[str, dict[str, tuple[str, ...]]] = {
    "CT": {
        "Siemens Healthineers": ("SOMATOM Force", "SOMATOM Definition AS+", "SOMATOM go.Top"),
        "GE HealthCare": ("Revolution CT", "Revolution EVO"),
        "Philips": ("IQon Spectral CT", "Incisive CT"),
        "Canon Medical": ("Aquilion ONE", "Aquilion Prime SP"),
    },
    "DX": {
        "Siemens Healthineers": ("YSIO X.pree", "Multix Impact"),
        "Philips": ("DigitalDiagnost C90",),
        "Canon Medical": ("Radrex-i",),
        "Fujifilm": ("FDR Visionary",),
        "Agfa": ("DR 800",),
        "Carestream": ("DRX-Evolution Plus",),
    },
    "MR": {
        "Siemens Healthineers": ("MAGNETOM Vida", "MAGNETOM Sola"),
        "GE HealthCare": ("SIGNA Premier", "SIGNA Artist"),
        "Philips": ("Ingenia Elition", "Ingenia Ambition"),
    },
    "RT": {"Varian": ("TrueBeam", "Halcyon"), "Elekta": ("Versa HD", "Elekta Infinity")},
}
# New equipment during the history: (site orgnr, modality, year installed, manufacturer, model) [A].
NEW_EQUIPMENT = (
    ("974703734", "CT", 2023, "Siemens Healthineers", "SOMATOM X.cite"),  # Kalnes, Østfold
    ("974795787", "CT", 2022, "Canon Medical", "Aquilion ONE PRISM"),  # UNN Tromsø
)
# A facility lowering its dose: (site orgnr, modality, from year, factor on typical values) [A:
# new protocols with iterative reconstruction at Tønsberg's CT lab].
DOSE_REDUCTIONS = (("974633574", "CT", 2023, 0.70),)
# How equipment sends DAP and fluoroscopy time (docs/messages.md §6 spellings) [A: shares]. The
# conversion factors are the unit_conversions seed's, the project's one table of them.
DAP_UNIT_SHARES = {"Gy.cm2": 0.50, "cGy.cm2": 0.15, "mGy.cm2": 0.15, "uGy.m2": 0.10, "dGy.cm2": 0.10}
FLUORO_TIME_UNIT_SHARES = {"s": 0.7, "min": 0.3}
EQUIPMENT_WITHOUT_DOSE_EXPORT = 0.05  # [A] units not connected to dose reporting: no rad at all
DOSE_MISSING_SHARE = 0.02  # [A] further ionising examinations without dose
DOSE_WITHOUT_ACTIVITY_SHARE = 0.005  # [A] rad records for examinations never sent in raa/ord

# --- Imaging examinations (NCRP 2017 codes; 6th letter = modality) --------------------------
# Modality group shares of all examinations [A, shaped like DSA's reports: X-ray ~50 %, CT ~20 %].
MODALITY_GROUP_SHARE = {
    "xray": 0.489,
    "ct": 0.20,
    "mr": 0.12,
    "us": 0.14,
    "nm": 0.02,
    "pet": 0.008,
    "angio": 0.013,
    "fluoro": 0.01,
}
# Examinations per group: code, weight, DICOM modality, sex restriction, minimum age, dose spec.
# Dose spec: dose type → national median of facility typical values (canonical unit), with
# sigma of facility medians (log) and sigma of patients around their facility (log).
# Chest/spine/pelvis DAP medians are the geometric mean of DSA's P25 and P75 (docs/domain.md §5), so
# the P75 of facility typical values lands near DSA's P75 (sigma_facility = ln(P75/P25)/1.349).
# Others [A] from typical published Nordic values; CT head and abdomen below DSA's 2014 NRV.
XRAY = (
    ("SSC0AA", 14.0, "DX", None, 0, {"DAP": (0.328, 0.40)}),  # chest: P25 0.25, P75 0.43
    ("SNA0AA", 1.5, "DX", None, 0, {"DAP": (0.527, 0.48)}),  # cervical spine: 0.38 / 0.73
    ("SNA0BA", 0.8, "DX", None, 0, {"DAP": (1.44, 0.70)}),  # thoracic spine: 0.9 / 2.3
    ("SNA0GA", 3.0, "DX", None, 0, {"DAP": (4.45, 0.44)}),  # lumbosacral: 3.3 / 6
    ("SNE0AA", 3.5, "DX", None, 0, {"DAP": (1.21, 0.46)}),  # pelvis: 0.89 / 1.65
    ("SNF0AA", 3.5, "DX", None, 0, {"DAP": (0.90, 0.40)}),
    ("SNG0AA", 6.0, "DX", None, 0, {"DAP": (0.12, 0.40)}),
    ("SNH0AA", 3.0, "DX", None, 0, {"DAP": (0.05, 0.40)}),
    ("SNH0BA", 2.5, "DX", None, 0, {"DAP": (0.05, 0.40)}),
    ("SND0AA", 3.0, "DX", None, 0, {"DAP": (0.03, 0.40)}),
    ("SND0BA", 2.0, "DX", None, 0, {"DAP": (0.03, 0.40)}),
    ("SNB0BA", 3.0, "DX", None, 0, {"DAP": (0.25, 0.40)}),
    ("SSD0AA", 1.0, "DX", None, 0, {"DAP": (2.0, 0.45)}),
    ("SEX0CA", 1.2, "CR", None, 0, {"DAP": (0.09, 0.35)}),  # orthopantomogram
    ("SHA0AA", 5.5, "MG", "2", 35, {"AGD": (2.0, 0.20)}),  # mammography two views: NRV 3.0 mGy
)
FLUORO = (
    ("SJC0AA", 3.0, "RF", None, 0, {"DAP": (4.0, 0.45), "GJENNOMLYSNINGSTID": (90.0, 0.40)}),
    ("SJD0AA", 2.0, "RF", None, 0, {"DAP": (8.0, 0.45), "GJENNOMLYSNINGSTID": (150.0, 0.40)}),
    ("SJF0BA", 2.0, "RF", None, 18, {"DAP": (15.0, 0.45), "GJENNOMLYSNINGSTID": (200.0, 0.40)}),
    ("SKX0DA", 1.5, "RF", None, 0, {"DAP": (0.6, 0.50), "GJENNOMLYSNINGSTID": (60.0, 0.40)}),
    ("SKX0CA", 1.5, "RF", None, 0, {"DAP": (3.0, 0.45), "GJENNOMLYSNINGSTID": (30.0, 0.40)}),
)
ANGIO = (  # coronary angiography DSA 10 / 19, PCI P75 56.6, TAVI P75 75.4 (docs/domain.md §5)
    (
        "SFN0CB",
        5.0,
        "XA",
        None,
        30,
        {"DAP": (13.8, 0.48), "GJENNOMLYSNINGSTID": (240.0, 0.4), "KERMA_REF": (250.0, 0.45)},
    ),
    (
        "FNQ05B",
        3.0,
        "XA",
        None,
        30,
        {"DAP": (42.0, 0.40), "GJENNOMLYSNINGSTID": (600.0, 0.4), "KERMA_REF": (800.0, 0.45)},
    ),
    (
        "FMK12A",
        0.5,
        "XA",
        None,
        60,
        {"DAP": (56.0, 0.40), "GJENNOMLYSNINGSTID": (900.0, 0.4), "KERMA_REF": (700.0, 0.45)},
    ),
    ("SPH0KC", 0.8, "XA", None, 18, {"DAP": (5.0, 0.50), "GJENNOMLYSNINGSTID": (120.0, 0.4)}),
    (
        "AAE11B",
        0.4,
        "XA",
        None,
        18,
        {"DAP": (150.0, 0.40), "GJENNOMLYSNINGSTID": (1800.0, 0.4), "KERMA_REF": (1500.0, 0.45)},
    ),
    ("SFC0FB", 0.5, "XA", None, 18, {"DAP": (30.0, 0.45), "GJENNOMLYSNINGSTID": (300.0, 0.4)}),
)
CT = (  # (DLP mGy·cm, CTDIvol mGy)
    ("SAA0AD", 5.0, "CT", None, 0, {"DLP": (820.0, 0.22), "CTDIVOL": (48.0, 0.20)}),  # NRV 1000 / 70
    ("SSC0AD", 3.5, "CT", None, 0, {"DLP": (300.0, 0.30), "CTDIVOL": (8.0, 0.30)}),
    ("SSD0AD", 1.5, "CT", None, 0, {"DLP": (480.0, 0.30), "CTDIVOL": (11.0, 0.30)}),  # NRV 800 / 18
    ("SSL0AD", 2.0, "CT", None, 0, {"DLP": (600.0, 0.28), "CTDIVOL": (11.5, 0.28)}),
    ("SSQ0AD", 3.0, "CT", None, 0, {"DLP": (780.0, 0.28), "CTDIVOL": (10.5, 0.28)}),
    ("SNA0GD", 0.8, "CT", None, 0, {"DLP": (520.0, 0.30), "CTDIVOL": (21.0, 0.30)}),
    ("SNA0AD", 0.8, "CT", None, 0, {"DLP": (380.0, 0.30), "CTDIVOL": (22.0, 0.30)}),
    ("SKX0BD", 0.6, "CT", None, 0, {"DLP": (420.0, 0.30), "CTDIVOL": (9.5, 0.30)}),
    ("SFN0AP", 0.6, "CT", None, 18, {"DLP": (230.0, 0.40), "CTDIVOL": (16.0, 0.40)}),
    ("SAA0DP", 0.7, "CT", None, 0, {"DLP": (1450.0, 0.25), "CTDIVOL": (55.0, 0.25)}),
    ("SFC0FP", 0.4, "CT", None, 18, {"DLP": (780.0, 0.30), "CTDIVOL": (11.0, 0.30)}),
    ("SDX0AD", 0.5, "CT", None, 0, {"DLP": (150.0, 0.35), "CTDIVOL": (11.0, 0.35)}),
    ("SNG0AD", 0.3, "CT", None, 0, {"DLP": (180.0, 0.35), "CTDIVOL": (8.0, 0.35)}),
    ("SAA0DE", 0.2, "CT", None, 0, {"DLP": (1550.0, 0.25), "CTDIVOL": (58.0, 0.25)}),
)
MR: tuple[tuple, ...] = (
    ("SAA0AG", 3.0, "MR", None, 0, {}),
    ("SNA0GG", 2.2, "MR", None, 0, {}),
    ("SNG0AG", 2.0, "MR", None, 0, {}),
    ("SNB0BG", 1.0, "MR", None, 0, {}),
    ("SNA0AG", 1.0, "MR", None, 0, {}),
    ("SKE0AG", 0.8, "MR", "1", 40, {}),
    ("SJJ0AG", 0.6, "MR", None, 0, {}),
    ("SHA0AG", 0.3, "MR", "2", 25, {}),
    ("SAA0GQ", 0.4, "MR", None, 0, {}),
    ("SNF0AG", 0.6, "MR", None, 0, {}),
)
US: tuple[tuple, ...] = (
    ("SJX0AK", 3.0, "US", None, 0, {}),
    ("SJX0CK", 2.0, "US", None, 0, {}),
    ("SHA0AK", 1.5, "US", "2", 18, {}),
    ("SBA0AK", 1.0, "US", None, 0, {}),
    ("SPH0KK", 1.5, "US", None, 18, {}),
    ("SKA0AK", 1.0, "US", None, 0, {}),
    ("SSE0AK", 1.0, "US", None, 0, {}),
    ("SDX0BK", 0.8, "US", None, 0, {}),
    ("SJJ0AK", 0.8, "US", None, 0, {}),
)
# Nuclear medicine: MBq (median administered activity [A: EANM/Nordic typical]) + radiopharmaceutical
# code from the NCRP 2017 list: the specific one wherever the list has it (ZTX6QA Tc-99m DPD bone,
# ZTX6TA 68Ga-PSMA, ZTX6FB 68Ga-DotaX, ZTX6LH 18F-FACBC, ZTX6LG 18F amino acids); 18F-FDG and the
# other Tc-99m tracers have no code in that list, so senders can only send ZTX6W9 "undefined" and
# the tracer follows from the examination code (PET/CT-18F FDG ..., NM Renografi ...).
NM = (
    ("TSY0AN", 4.0, "NM", None, 18, {"MBQ": (600.0, 0.15)}, "ZTX6QA"),
    ("TFY0DN", 2.5, "NM", None, 35, {"MBQ": (400.0, 0.20)}, "ZTX6W9"),
    ("TKA0BN", 1.5, "NM", None, 0, {"MBQ": (100.0, 0.25)}, "ZTX6W9"),
    ("TBA0AN", 1.0, "NM", None, 18, {"MBQ": (80.0, 0.20)}, "ZTX6W9"),
    ("TGD0BN", 1.0, "NM", None, 18, {"MBQ": (100.0, 0.20)}, "ZTX6W9"),
    ("TPJ0DN", 1.5, "NM", "2", 30, {"MBQ": (20.0, 0.30)}, "ZTX6W9"),
)
PET = (  # PET/CT: MBq plus the low-dose CT's DLP/CTDIvol
    (
        "TST0AL",
        6.0,
        "PT",
        None,
        18,
        {"MBQ": (280.0, 0.20), "DLP": (350.0, 0.30), "CTDIVOL": (4.0, 0.3)},
        "ZTX6W9",
    ),
    (
        "TST0WL",
        1.5,
        "PT",
        "1",
        50,
        {"MBQ": (150.0, 0.15), "DLP": (330.0, 0.30), "CTDIVOL": (4.0, 0.3)},
        "ZTX6TA",
    ),  # PSMA
    (
        "TSL0FL",
        0.5,
        "PT",
        None,
        18,
        {"MBQ": (150.0, 0.15), "DLP": (380.0, 0.30), "CTDIVOL": (4.0, 0.3)},
        "ZTX6FB",
    ),  # 68Ga DotaX
    (
        "TST0BL",
        0.4,
        "PT",
        "1",
        50,
        {"MBQ": (300.0, 0.15), "DLP": (330.0, 0.30), "CTDIVOL": (4.0, 0.3)},
        "ZTX6LH",
    ),  # 18F FACBC (fluciclovine), recurrent prostate cancer
    (
        "TAA0EL",
        0.2,
        "PT",
        None,
        18,
        {"MBQ": (180.0, 0.15), "DLP": (200.0, 0.30), "CTDIVOL": (15.0, 0.3)},
        "ZTX6LG",
    ),  # 18F amino acid (DOPA/FET) brain
    (
        "TAA0AL",
        0.5,
        "PT",
        None,
        18,
        {"MBQ": (200.0, 0.15), "DLP": (200.0, 0.30), "CTDIVOL": (15.0, 0.3)},
        "ZTX6W9",
    ),
)
EXAMINATION_GROUPS = {
    "xray": XRAY,
    "fluoro": FLUORO,
    "angio": ANGIO,
    "ct": CT,
    "mr": MR,
    "us": US,
    "nm": NM,
    "pet": PET,
}
CHILD_DOSE_FACTOR = 0.45  # [A] children (< 18) get lower dose; DRLs use adults only
PATIENT_SIGMA = 0.50  # [A] log-sd of patients around their facility's typical value
# Additional codes: side (ZTX0XA right / XB left / XC bilateral) on extremity and breast exams.
SIDE_CODED = {
    "SNF0AA",
    "SNG0AA",
    "SNH0AA",
    "SNH0BA",
    "SND0AA",
    "SND0BA",
    "SNB0BA",
    "SNG0AG",
    "SNB0BG",
    "SNF0AG",
    "SNG0AD",
    "SHA0AK",
    "SPH0KK",
}
SIDE_SHARES = (("ZTX0XA", 0.45), ("ZTX0XB", 0.45), ("ZTX0XC", 0.10))
MAMMOGRAPHY_BILATERAL = 0.90
# i.v. contrast ZTX0EA share by modality group [A]; CT head less often.
CONTRAST_SHARE = {"ct": 0.50, "ct_head": 0.15, "mr": 0.40}
INTRA_ARTERIAL = {"SFN0CB", "FNQ05B", "SFC0FB", "AAE11B", "FMK12A"}  # ZTX0EE intra-arterial contrast

# --- ord: image-guided NCSP/NCMP procedures (docs/messages.md §7) --------------------------------
ZXM_SHARES = (
    ("ZXM10", 0.42),
    ("ZXM00", 0.30),
    ("ZXM20", 0.08),
    ("ZXM70", 0.08),
    ("ZXM40", 0.08),
    ("ZXM30", 0.04),
)  # [A] fluoroscopy-guided orthopaedics/ERCP dominate
ORD_PROCEDURES = {  # ZXM code → NCSP (K) codes it typically guides
    "ZXM10": ("NFJ62", "NFJ72", "NHJ62", "NCJ62", "JKE18", "JKE02", "FPE30", "ABC26"),
    "ZXM00": ("PHD10", "PHD11", "KBV10", "JKF10"),
    "ZXM20": ("ABC07", "JKF10"),
    "ZXM70": ("PAF20", "PDH20"),
    "ZXM40": ("JGB01", "KAS10"),
    "ZXM30": ("ABC16",),
}
# ord procedures that use no image guidance (no ZXM code expected); an image-guided one sent without its
# ZXM code is ZXM_MISSING_SHARE's
ORD_WITHOUT_ZXM = ("JGB00", "KCH00", "ACA11", "JEA00", "JCA22")
ORD_DOSE = {  # ionising ZXM: dose spec like the imaging groups
    "ZXM10": ("RF", {"DAP": (2.5, 0.5), "GJENNOMLYSNINGSTID": (70.0, 0.5)}),
    "ZXM20": ("CT", {"DLP": (400.0, 0.35), "CTDIVOL": (12.0, 0.35)}),
    "ZXM70": ("XA", {"DAP": (40.0, 0.45), "GJENNOMLYSNINGSTID": (900.0, 0.4), "KERMA_REF": (500.0, 0.4)}),
}

# --- How senders report image-guided procedures (docs/domain.md §4: dsa_zxm_completeness and
# dsa_double_reporting; synth/quality.py) [A] --------------------------------------------------------
# Share of a hospital trust's ord procedures that are image-guided by nature (their main code in the
# seed dbt_project/seeds/reference/image_guided_code_groups.csv) sent without their ZXM code: most
# trusts nearly always code it, a few often leave it out. A procedure sent without it has no dose in
# rad either (its dose is not connected to a procedure the registry counts).
ZXM_MISSING_SHARE_DEFAULT = 0.04
ZXM_MISSING_SHARE = {
    "983974899": 0.35,  # UNN
    "983971709": 0.25,  # Innlandet
    "997005562": 0.15,  # Møre og Romsdal
    "993467049": 0.01,  # OUS
}
# Share of a hospital trust's raa examinations with a code of DOUBLE_REPORTED_CODES that it sends again
# in ord, as the NCSP procedure with a ZXM code, same patient and day (double reporting: the cardiology
# department reports its PCI in the patient administrative system as well as in the RIS); 0 elsewhere.
DOUBLE_REPORTING_SHARE = {
    "983974724": 0.80,  # Helse Bergen
    "883974832": 0.50,  # St. Olav
    "983971636": 0.30,  # Ahus
    "993467049": 0.15,  # OUS
}
# NCRP intervention code in raa -> (NCSP code, ZXM code) the same procedure carries in ord (the seed
# ncrp_ncsp_equivalents maps FNQ05B PCI with stent to FNG00 dilatation of a coronary artery)
DOUBLE_REPORTED_CODES = {"FNQ05B": ("FNG00", "ZXM70")}

# --- Radiotherapy (docs/domain.md §3) -------------------------------------------------------------
# Diagnosis groups: name, share of series [A: Norwegian RT case mix], ICD-10 codes, required sex,
# schedules as (total Gy, fractions, share, intent), reference volumes as (name, regionkode,
# dose per fraction relative to the main volume); secondary volumes occur in
# RT_SECONDARY_VOLUME_SHARE of series (always for head and neck: simultaneous integrated boost).
# Intent: 1 curative, 2 palliative, 3 local control (docs/messages.md §4 [A]).
RT_DIAGNOSES = (
    (
        "breast",
        0.20,
        ("C504", "C509", "C508"),
        "2",
        ((40.05, 15, 0.55, "1"), (26.0, 5, 0.30, "1"), (50.0, 25, 0.15, "1")),
        (("CTV_Breast", 243, 1.0), ("CTV_Lymfeknuter", 243, 0.95)),
    ),
    (
        "prostate",
        0.12,
        ("C61",),
        "1",
        ((60.0, 20, 0.55, "1"), (78.0, 39, 0.12, "1"), (70.0, 35, 0.08, "1"), (36.25, 5, 0.25, "1")),
        (("PTV_Prostata", 342, 1.0), ("PTV_Lymfeknuter", 355, 0.8)),
    ),
    (
        "lung",
        0.13,
        ("C341", "C349"),
        None,
        (
            (60.0, 30, 0.25, "1"),
            (66.0, 33, 0.05, "1"),
            (45.0, 3, 0.15, "1"),
            (55.0, 5, 0.10, "1"),
            (17.0, 2, 0.20, "2"),
            (30.0, 10, 0.25, "2"),
        ),
        (("PTV_Lunge", 247, 1.0),),
    ),
    (
        "bone_metastases",
        0.18,
        ("C795",),
        None,
        ((8.0, 1, 0.60, "2"), (20.0, 5, 0.20, "2"), (30.0, 10, 0.20, "2")),
        (("PTV_Skjelett", 523, 1.0),),
    ),
    (
        "brain_metastases",
        0.05,
        ("C793",),
        None,
        ((20.0, 5, 0.55, "2"), (30.0, 10, 0.25, "2"), (20.0, 1, 0.20, "3")),
        (("PTV_Hjerne", 401, 1.0),),
    ),
    (
        "cns",
        0.03,
        ("C719",),
        None,
        ((60.0, 30, 0.60, "1"), (40.05, 15, 0.40, "1")),
        (("PTV_Hjerne", 415, 1.0),),
    ),
    (
        "head_neck",
        0.05,
        ("C01", "C099", "C109", "C329"),
        None,
        ((68.0, 34, 0.70, "1"), (70.0, 35, 0.30, "1")),
        (("PTV_68", 166, 1.0), ("PTV_60", 174, 0.88), ("PTV_50", 178, 0.74)),
    ),
    (
        "rectum",
        0.04,
        ("C20",),
        None,
        ((25.0, 5, 0.50, "1"), (50.4, 28, 0.50, "1")),
        (("PTV_Rektum", 357, 1.0),),
    ),
    (
        "lymphoma",
        0.03,
        ("C833", "C851"),
        None,
        ((30.0, 15, 0.60, "1"), (4.0, 2, 0.20, "2"), (20.0, 10, 0.20, "1")),
        (("PTV_Lymfom", 217, 1.0),),
    ),
    (
        "gynaecological",
        0.04,
        ("C539", "C541"),
        "2",
        ((50.4, 28, 0.50, "1"), (45.0, 25, 0.50, "1")),
        (("PTV_Bekken", 360, 1.0),),
    ),
    (
        "oesophagus",
        0.02,
        ("C159",),
        None,
        ((41.4, 23, 0.60, "1"), (30.0, 10, 0.40, "2")),
        (("PTV_Øsofagus", 255, 1.0),),
    ),
    (
        "bladder",
        0.02,
        ("C679",),
        None,
        ((55.0, 20, 0.70, "1"), (21.0, 3, 0.30, "2")),
        (("PTV_Blære", 341, 1.0),),
    ),
    (
        "skin",
        0.02,
        ("C443", "C449"),
        None,
        ((20.0, 5, 0.50, "3"), (45.0, 15, 0.50, "1")),
        (("CTV_Hud", 3, 1.0),),
    ),
    (
        "other",
        0.07,
        ("C64", "C56", "C250", "C787", "C780", "C798"),
        None,
        ((30.0, 10, 0.60, "2"), (20.0, 5, 0.40, "2")),
        (("PTV_Abdomen", 304, 1.0),),
    ),
)
# Planning codes (NCMP 2017 WEGX*), [A] shares: VMAT/IMRT dominates curative treatment.
RT_PLANNING_CURATIVE = (
    ("WEGX31", 0.45),
    ("WEGX32", 0.20),
    ("WEGX33", 0.10),
    ("WEGX21", 0.15),
    ("WEGX34", 0.10),
)
RT_PLANNING_PALLIATIVE = (("WEGX11", 0.45), ("WEGX21", 0.35), ("WEGX07", 0.20))
RT_SECONDARY_VOLUME_SHARE = 0.3
# Diagnoses only one sex has (the group's own restriction aside) [C].
SEX_SPECIFIC_DIAGNOSES = {"C56": "2", "C539": "2", "C541": "2", "C61": "1", "C62": "1"}
# Replanning: a second dose plan during the course, by intent [A: adaptive replanning after
# weight loss or tumour response, mostly long curative courses].
RT_REPLAN_SHARE = {"1": 0.15, "2": 0.02, "3": 0.05}
# A further series for a patient the centre treated within RT_REPEAT_WINDOW_DAYS (new metastases,
# re-irradiation): most of the ~1.2 series per patient and year [A: NPR's views show 1.2-1.3].
RT_REPEAT_SHARE = 0.16
RT_REPEAT_WINDOW_DAYS = 540
# Migration: Oslo University Hospital treats a share of the other south-east trusts' patients and
# national functions for everyone; the rest of a trust's patients go to its own centre [A].
RT_OUS_SOUTH_EAST_SHARE = 0.15
RT_OUS_NATIONAL_SHARE = 0.03
SOUTH_EAST_RHF = "Helse Sør-Øst RHF"
OUS_ORGNR = "993467049"
# Private institutes sell capacity to other regions: this share of their patients from anywhere [A].
PRIVATE_OUT_OF_REGION_SHARE = 0.15
# Youngest plausible age per diagnosis group [A: from cancer incidence by age]; rarer young
# patients are redrawn, so the series' age profile follows RT_RATE_BY_AGE and these limits.
RT_MIN_AGE = {
    "breast": 30,
    "prostate": 50,
    "lung": 40,
    "bone_metastases": 35,
    "brain_metastases": 35,
    "cns": 5,
    "head_neck": 35,
    "rectum": 40,
    "lymphoma": 10,
    "gynaecological": 25,
    "oesophagus": 45,
    "bladder": 50,
    "skin": 50,
    "other": 30,
}
RT_TREATMENT_CODE = "WEOA00"  # external beam, high energy (NCMP 2017)
RT_SPECIAL_TREATMENT_CODE = "WEOA15"  # special apparatus (single-fraction stereotactic brain)
RT_PLAN_TO_START_DAYS = (5, 15)  # [A] planning CT a week or two before the first fraction
RT_NEW_PATIENT_SHARE = 0.80  # [A] nyPasient = 1
RT_INPATIENT_SHARE = 0.12  # [A] omsorgsniva 8 (inpatient coming to RT as outpatient contact)
RT_MACHINE_SWITCH_SHARE = 0.05  # [A] fraction delivered on another linac (service day)
RT_GIVEN_DEVIATION_SHARE = 0.03  # [A] gittDose differs from planDose (interrupted/adjusted)
RT_SERIES_BEFORE_YEAR_SHARE = 0.06  # [A] series started in the previous year's autumn

# --- Referrals and waiting times (docs/messages.md §10, docs/domain.md §8) ------------------------
# Source: the mandate names waiting times for radiotherapy and radiology but no public source gives
# their distribution per modality or intent, so every number here is [A], chosen to match the shape
# docs/domain.md §8 describes: radiotherapy mostly 1-4 weeks from ansiennitetsdato to the first
# fraction, curative longer than palliative; imaging from days (X-ray) to months (MR, the longest).
# Waits are log-normal: (median days, log-sd); drawn on their own random stream (synth/referrals.py),
# so everything else the generator makes is the same as without referrals.
# Radiotherapy: days from ansiennitetsdato to the planning CT, by intent (1 curative, 2 palliative,
# 3 local control; others as "other"); RT_PLAN_TO_START_DAYS then follows to the first fraction, so
# the whole wait is about 3 weeks curative (work-up, multidisciplinary meeting, then planning) and
# under 2 weeks palliative (pain, threatening fractures: planned within days).
RT_REFERRAL_TO_PLAN_DAYS = {"1": (11.0, 0.45), "2": (2.0, 0.8), "3": (5.0, 0.6), "other": (7.0, 0.6)}
RT_NO_REFERRAL_SHARE = 0.05  # series started from an inpatient stay or an earlier course: no period
# Imaging: days from ansiennitetsdato to the examination, per examination group, for elective
# outpatient visits; emergency visits (innmateHast 1) and inpatients' examinations (omsorgsniva 1)
# are ordered inside the hospital and have no referral period.
IMAGING_WAIT_DAYS = {
    "xray": (3.0, 1.0),
    "fluoro": (14.0, 0.8),
    "angio": (21.0, 0.7),
    "ct": (14.0, 0.8),
    "mr": (35.0, 0.75),
    "us": (12.0, 0.9),
    "nm": (18.0, 0.7),
    "pet": (8.0, 0.5),  # cancer patient pathways: PET/CT within days
}
IMAGING_PRIVATE_WAIT_FACTOR = 0.6  # private institutes with public contracts: shorter queues
IMAGING_REFERRAL_MISSING_SHARE = 0.03  # elective outpatient visits sent without their period
IMAGING_REFERRAL_FROM_HOSPITAL_SHARE = 0.3  # the rest from general practitioners (no orgnr sent)
# ord: elective (innmateHast 4) image-guided procedures, days from ansiennitetsdato to the procedure.
ORD_WAIT_DAYS = (45.0, 0.8)
WAIT_MAX_DAYS = 365
# A referral forwarded by another institution arrives this many days after its ansiennitetsdato,
# which it keeps (mottattDato is this institution's day of receipt).
REFERRAL_FORWARD_DAYS = (1, 7)
# henvType: NPR's list is not public; 1 assessment (imaging), 2 treatment (radiotherapy, procedures).
REFERRAL_TYPE = {"raa": "1", "ord": "2", "str": "2"}

# --- Reporting: resends, corrections, duplicates, faults --------------------------------------
B_RESEND_SHARE = 0.15  # [A] of (institution, module, tertial) B files later resent complete
RESEND_DROP_SHARE = 0.01  # episodes missing from the resend (withdrawn)
RESEND_CHANGE_SHARE = 0.01  # episodes/records with a changed value in the resend
E_MESSAGE_SHARE = 0.25  # [A] of (institution, episode module, tertial) that get an E message
E_CHANGE_SHARE = 0.004
E_DELETE_SHARE = 0.002
DUPLICATE_FILE_SHARE = 0.02  # the same file sent twice
DEFAULT_FAULT_SHARE = 0.02  # share of files with a rejected earlier attempt
FINDING_FILE_SHARE = 0.03  # share of loaded files with planted record findings
IMPLAUSIBLE_FACTOR = 1000.0  # planted implausible dose = 1000 × the facility typical value
UNKNOWN_UNIT = "Gy*cm^2"  # planted unknown unit spelling
UNKNOWN_NCRP_CODE = "SXX9ZZ"  # planted code that is in no code list
UPLOAD_DELAY_DAYS = (5, 25)  # [A] B file extracted this long after the period ends
RESEND_DELAY_DAYS = (30, 70)
E_DELAY_DAYS = (75, 110)

# Names for Kontaktperson (æøå on purpose: docs/messages.md §1).
CONTACT_NAMES = (
    "Kåre Ødegård",
    "Åse Bjørnstad",
    "Øystein Næss",
    "Siri Håland",
    "Pål Sæther",
    "Ingrid Løvås",
    "Bjørn Årdal",
    "Marit Strøm",
)
