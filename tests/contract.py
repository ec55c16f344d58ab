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
    "fct_referral",
)
DELIVERY_MODELS = (
    "dsa_drl",
    "dsa_drl_trend",
    "dsa_facility_dose",
    "dsa_facility_dose_trend",
    "dsa_facility_follow_up",
    "dsa_population_dose",
    "dsa_population_dose_trend",
    "dsa_reporting_completeness",
    "rhf_rt_activity",
    "rhf_rt_activity_trend",
    "rhf_rt_dose_plans",
    "rhf_rt_migration",
    "rhf_imaging_activity",
    "rhf_imaging_activity_trend",
    "rhf_rt_waiting_times",
    "rhf_imaging_waiting_times",
)
DELIVERY_ASSETS = ("dsa_delivery", "rhf_delivery")
