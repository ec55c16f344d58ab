"""Names the public contract promises (docs/marts.md); tests check the graph against them."""

MARTS = (
    "fct_rt_attendance",
    "fct_rt_series",
    "fct_rt_dose_plan",
    "fct_imaging_examination",
    "fct_imaging_dose",
    "dim_institution",
    "dim_procedure",
    "dim_diagnosis",
    "dim_date",
    "dim_equipment",
    "dim_person",
)
DELIVERY_MODELS = (
    "dsa_drl",
    "dsa_facility_dose",
    "dsa_population_dose",
    "dsa_reporting_completeness",
    "rhf_rt_activity",
    "rhf_rt_dose_plans",
    "rhf_rt_migration",
    "rhf_imaging_activity",
)
DELIVERY_ASSETS = ("dsa_delivery", "rhf_delivery")
