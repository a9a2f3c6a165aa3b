#!/usr/bin/env python3
"""Generate a small, realistic sample of a Google Cloud billing export.

Usage:
    python3 configs/samples/generate_gcp_billing_export.py > configs/samples/gcp_billing_export.csv
    python3 configs/samples/generate_gcp_billing_export.py --out configs/samples/gcp_billing_export.csv

Both forms write the same bytes. A summary (row count, totals per project,
service and day) goes to stderr so a pipeline's output can be checked
against it; --quiet turns it off.

What it produces
----------------
One month (2026-11-01 .. 2026-11-30 UTC) of the Cloud Billing "standard usage
cost" export (BigQuery table gcp_billing_export_v1_<BILLING_ACCOUNT_ID>) for
one billing account and four projects, as RFC 4180 CSV: a header line, comma
separators, double quotes only around fields that need them, "\n" line ends
and a final "\n" after the last row. The text is ASCII.

Columns keep the export's names; nested RECORD fields are flattened with
"_" (service.id -> service_id, usage.amount_in_pricing_units ->
usage_amount_in_pricing_units, invoice.month -> invoice_month, ...).
The two REPEATED fields stay whole, as JSON text in one column each:
    labels   [{"key":"env","value":"prod"},{"key":"team","value":"platform"}]
    credits  [{"name":...,"amount":-1.234567,"full_name":...,"id":...,"type":...}]
Both columns always hold a JSON array; "[]" when the row has none. Credit
amounts are negative; the net cost of a row is cost + the sum of its
credit amounts. An empty CSV field is NULL (for instance location_region on
multi-region rows).

Timestamps are ISO 8601 UTC with a "Z" and no fraction, for example
"2026-11-03T14:00:00Z": BigQuery, SQLite's date functions and Convergence's
cvg_time_parse_iso all read this form as is. invoice_month is "YYYYMM".

Money is USD (currency_conversion_rate 1) with six decimals. cost_at_list
is the cost at list price; it equals cost except on Cloud Storage, which has
a 10% negotiated (contract) discount in this account.

Granularity: a real export has a row per SKU, project, label set and hour.
To keep the file small, only the N1 virtual machine rows of acme-prod are
hourly (with their sustained use discount accruing through the month, as
it does on real bills); every other row covers a whole UTC day
(usage_start_time 00:00, usage_end_time 00:00 the next day). Days without
usage have no row for that SKU (sandbox VMs are stopped at weekends).

Credits shown: SUSTAINED_USAGE_DISCOUNT (N1 VMs), COMMITTED_USAGE_DISCOUNT
(a 1-year E2 commitment, whose fee appears as its own "Commitment v1" SKU
rows), and FREE_TIER (GKE cluster fee, Cloud Run, BigQuery analysis and
Cloud Logging allowances, consumed in time order).

Identifiers: service ids are the public Cloud Billing catalog ids. SKU ids
marked "catalog" below are public catalog ids; the others are made up in
the same XXXX-XXXX-XXXX form (derived from the description) and must not be
used to look up prices. Prices are close to public list prices but are
sample values. Projects, numbers and the billing account are invented.

Determinism: all randomness comes from random.Random instances seeded with
fixed strings, and every number is computed with decimal.Decimal, so two
runs give byte-identical output with any Python 3.11+.
"""

import argparse
import csv
import datetime as dt
import hashlib
import io
import json
import random
import sys
from decimal import ROUND_HALF_EVEN, Decimal

SEED = "convergence-gcp-billing-sample-v1"

BILLING_ACCOUNT_ID = "01F2A7-3C9B4D-E5081A"
INVOICE_MONTH = "202611"
MONTH_START = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
DAYS = 30
HOURS = DAYS * 24

GIB = 2**30
TIB = 2**40
HOURS_PER_MONTH = 730  # Cloud Billing's month for "gibibyte month" prices

COLUMNS = [
    "billing_account_id",
    "service_id",
    "service_description",
    "sku_id",
    "sku_description",
    "usage_start_time",
    "usage_end_time",
    "project_id",
    "project_number",
    "project_name",
    "labels",
    "location_location",
    "location_country",
    "location_region",
    "location_zone",
    "export_time",
    "cost",
    "currency",
    "currency_conversion_rate",
    "usage_amount",
    "usage_unit",
    "usage_amount_in_pricing_units",
    "usage_pricing_unit",
    "credits",
    "invoice_month",
    "cost_type",
    "cost_at_list",
]

# ---- services (public Cloud Billing catalog ids) ----------------------------

SERVICES = {
    "compute": ("6F81-5844-456A", "Compute Engine"),
    "storage": ("95FF-2EF5-5EA1", "Cloud Storage"),
    "bigquery": ("24E6-581D-38E5", "BigQuery"),
    "sql": ("9662-B51E-5089", "Cloud SQL"),
    "network": ("E505-1604-58F8", "Networking"),
    "gke": ("CCD8-9BF1-090E", "Kubernetes Engine"),
    "logging": ("5490-F7B7-8DF6", "Cloud Logging"),
    "run": ("152E-C115-5142", "Cloud Run"),
}

# Negotiated discount off list price, by service key.
CONTRACT_DISCOUNT = {"storage": Decimal("0.10")}

# ---- units ------------------------------------------------------------------
# kind: (usage.unit, usage.pricing_unit, usage units per pricing unit)
UNITS = {
    "vcpu_hour": ("seconds", "hour", 3600),
    "hour": ("seconds", "hour", 3600),
    "gib_hour": ("byte-seconds", "gibibyte hour", GIB * 3600),
    "gib_month": ("byte-seconds", "gibibyte month", GIB * HOURS_PER_MONTH * 3600),
    "gib": ("bytes", "gibibyte", GIB),
    "tib": ("bytes", "tebibyte", TIB),
    "count": ("requests", "count", 1),
}


def made_up_sku_id(description):
    """A stable XXXX-XXXX-XXXX id for SKUs whose catalog id is not used here."""
    h = hashlib.sha256(description.encode("ascii")).hexdigest().upper()
    return f"{h[0:4]}-{h[4:8]}-{h[8:12]}"


# key: (service key, sku id or None for made up, description, unit kind, USD per pricing unit)
SKUS = {
    # Compute Engine ("catalog" ids)
    "n1_core": ("compute", "2E27-4F75-95CD", "N1 Predefined Instance Core running in Americas", "vcpu_hour", "0.031611"),
    "n1_ram": ("compute", "6C71-E844-38BC", "N1 Predefined Instance Ram running in Americas", "gib_hour", "0.004237"),
    "e2_core": ("compute", "CF4E-A0C7-E3BF", "E2 Instance Core running in Americas", "vcpu_hour", "0.02181159"),
    "e2_ram": ("compute", "F449-33EC-A5EF", "E2 Instance Ram running in Americas", "gib_hour", "0.00292353"),
    "pd": ("compute", "D973-5D65-BAB2", "Storage PD Capacity", "gib_month", "0.04"),
    "pd_ssd": ("compute", "B188-61DD-52E4", "SSD backed PD Capacity", "gib_month", "0.17"),
    "ext_ip": ("compute", "C054-7F72-A02E", "External IP Charge on a Standard VM", "hour", "0.005"),
    # Compute Engine (made-up ids)
    "pd_snapshot": ("compute", None, "Storage PD Snapshot", "gib_month", "0.05"),
    "cud_e2_core": ("compute", None, "Commitment v1: E2 Cpu in Americas for 1 Year", "vcpu_hour", "0.01374130"),
    "cud_e2_ram": ("compute", None, "Commitment v1: E2 Ram in Americas for 1 Year", "gib_hour", "0.00184182"),
    "e2_core_emea": ("compute", None, "E2 Instance Core running in EMEA", "vcpu_hour", "0.02399211"),
    "e2_ram_emea": ("compute", None, "E2 Instance Ram running in EMEA", "gib_hour", "0.00321559"),
    "pd_belgium": ("compute", None, "Storage PD Capacity in Belgium", "gib_month", "0.044"),
    # Cloud Storage
    "gcs_std_us": ("storage", None, "Standard Storage US Multi-region", "gib_month", "0.026"),
    "gcs_std_eu": ("storage", None, "Standard Storage Europe Multi-region", "gib_month", "0.026"),
    "gcs_cold_us": ("storage", None, "Coldline Storage US Multi-region", "gib_month", "0.007"),
    "gcs_class_a": ("storage", None, "Multi-Region Standard Class A Operations", "count", "0.000005"),
    "gcs_class_b": ("storage", None, "Multi-Region Standard Class B Operations", "count", "0.0000004"),
    "gcs_download": ("storage", None, "Download Worldwide Destinations (excluding Asia & Australia)", "gib", "0.12"),
    # BigQuery
    "bq_analysis": ("bigquery", None, "Analysis", "tib", "6.25"),
    "bq_active": ("bigquery", None, "Active Logical Storage", "gib_month", "0.02"),
    "bq_long_term": ("bigquery", None, "Long Term Logical Storage", "gib_month", "0.01"),
    # Cloud SQL
    "sql_r_cpu": ("sql", None, "Cloud SQL for PostgreSQL: Regional - vCPU in Americas", "vcpu_hour", "0.0826"),
    "sql_r_ram": ("sql", None, "Cloud SQL for PostgreSQL: Regional - RAM in Americas", "gib_hour", "0.014"),
    "sql_r_disk": ("sql", None, "Cloud SQL for PostgreSQL: Regional - Standard storage in Americas", "gib_month", "0.34"),
    "sql_z_cpu": ("sql", None, "Cloud SQL for PostgreSQL: Zonal - vCPU in Americas", "vcpu_hour", "0.0413"),
    "sql_z_ram": ("sql", None, "Cloud SQL for PostgreSQL: Zonal - RAM in Americas", "gib_hour", "0.007"),
    "sql_z_disk": ("sql", None, "Cloud SQL for PostgreSQL: Zonal - Standard storage in Americas", "gib_month", "0.17"),
    # Networking
    "egress": ("network", None, "Network Internet Egress from Americas to Americas", "gib", "0.12"),
    "inter_zone": ("network", None, "Network Inter Zone Data Transfer Out", "gib", "0.01"),
    "lb_rule": ("network", None, "Network Load Balancing: Forwarding Rule Minimum Service Charge in Americas", "hour", "0.025"),
    # Kubernetes Engine
    "gke_regional": ("gke", None, "Regional Kubernetes Clusters", "hour", "0.10"),
    "gke_zonal": ("gke", None, "Zonal Kubernetes Clusters", "hour", "0.10"),
    # Cloud Logging
    "log_storage": ("logging", None, "Log Storage cost", "gib", "0.50"),
    # Cloud Run
    "run_cpu": ("run", None, "CPU Allocation Time", "vcpu_hour", "0.0864"),
    "run_ram": ("run", None, "Memory Allocation Time", "gib_hour", "0.009"),
    "run_requests": ("run", None, "Requests", "count", "0.0000004"),
}

# ---- projects -----------------------------------------------------------------

PROJECTS = [
    # (id, number, name)
    ("acme-prod-482913", "583920174629", "acme-prod"),
    ("acme-staging-310577", "204718563390", "acme-staging"),
    ("acme-data-771204", "917364028451", "acme-data"),
    ("acme-sandbox-129856", "446120987312", "acme-sandbox"),
]
PROJECT_ORDER = {p[0]: i for i, p in enumerate(PROJECTS)}


def loc(location, country=None, region=None, zone=None):
    return (location, country, region, zone)


US = loc("us", "US")
EU = loc("eu", None)
GLOBAL = loc("global")
USC1 = loc("us-central1", "US", "us-central1")
USC1A = loc("us-central1-a", "US", "us-central1", "us-central1-a")
USC1B = loc("us-central1-b", "US", "us-central1", "us-central1-b")
USE1 = loc("us-east1", "US", "us-east1")
USE1B = loc("us-east1-b", "US", "us-east1", "us-east1-b")
EUW1 = loc("europe-west1", "BE", "europe-west1")
EUW1B = loc("europe-west1-b", "BE", "europe-west1", "europe-west1-b")

# A usage line: one SKU in one project, one label set, one location.
#   qty      mean quantity: vCPUs or instances (vcpu_hour/hour), GiB held
#            (gib_hour/gib_month), GiB or TiB moved per day (gib/tib),
#            requests per day (count)
#   weekend  factor applied on Saturdays and Sundays (0 = no row)
#   growth   relative growth over the month (storage grows)
#   noise    +/- relative day-to-day variation
#   spikes   {day of month: factor}
#   hourly   one row per hour instead of per day
LINES = [
    # ---- acme-prod: the production platform ---------------------------------
    dict(project="acme-prod-482913", sku="n1_core", hourly=True, qty=32, loc=USC1A,
         labels={"env": "prod", "team": "platform"}, credit="sud"),
    dict(project="acme-prod-482913", sku="n1_ram", hourly=True, qty=120, loc=USC1A,
         labels={"env": "prod", "team": "platform"}, credit="sud"),
    dict(project="acme-prod-482913", sku="e2_core", qty=24, weekend=0.75, noise=0.08, loc=USC1A,
         labels={"env": "prod", "team": "platform"}, credit="cud"),
    dict(project="acme-prod-482913", sku="e2_ram", qty=96, weekend=0.75, noise=0.08, loc=USC1A,
         labels={"env": "prod", "team": "platform"}, credit="cud"),
    dict(project="acme-prod-482913", sku="cud_e2_core", qty=16, loc=USC1),
    dict(project="acme-prod-482913", sku="cud_e2_ram", qty=64, loc=USC1),
    dict(project="acme-prod-482913", sku="pd", qty=4096, growth=0.03, loc=USC1A,
         labels={"env": "prod", "team": "platform"}),
    dict(project="acme-prod-482913", sku="pd_ssd", qty=1024, loc=USC1A,
         labels={"env": "prod", "team": "payments"}),
    dict(project="acme-prod-482913", sku="pd_snapshot", qty=2500, growth=0.12, loc=US,
         labels={"env": "prod", "team": "platform"}),
    dict(project="acme-prod-482913", sku="ext_ip", qty=6, loc=USC1A),
    dict(project="acme-prod-482913", sku="gcs_std_us", qty=41000, growth=0.08, noise=0.002, loc=US,
         labels={"env": "prod", "team": "platform"}),
    dict(project="acme-prod-482913", sku="gcs_class_a", qty=1_000_000, weekend=0.6, noise=0.15, loc=US,
         labels={"env": "prod", "team": "platform"}),
    dict(project="acme-prod-482913", sku="gcs_class_b", qty=10_000_000, weekend=0.7, noise=0.15, loc=US,
         labels={"env": "prod", "team": "platform"}),
    dict(project="acme-prod-482913", sku="gcs_download", qty=150, weekend=0.7, noise=0.2, loc=US,
         spikes={27: 2.6, 28: 1.9, 29: 1.7, 30: 2.3}),
    dict(project="acme-prod-482913", sku="bq_analysis", qty=0.8, weekend=0.3, noise=0.3, loc=US,
         labels={"env": "prod", "team": "analytics"}),
    dict(project="acme-prod-482913", sku="bq_active", qty=2048, growth=0.05, noise=0.002, loc=US,
         labels={"env": "prod", "team": "analytics"}),
    dict(project="acme-prod-482913", sku="sql_r_cpu", qty=8, loc=USC1,
         labels={"env": "prod", "team": "payments"}),
    dict(project="acme-prod-482913", sku="sql_r_ram", qty=32, loc=USC1,
         labels={"env": "prod", "team": "payments"}),
    dict(project="acme-prod-482913", sku="sql_r_disk", qty=500, growth=0.04, loc=USC1,
         labels={"env": "prod", "team": "payments"}),
    dict(project="acme-prod-482913", sku="egress", qty=400, weekend=0.8, noise=0.12, loc=USC1,
         spikes={27: 2.5, 28: 1.8, 29: 1.6, 30: 2.2}),
    dict(project="acme-prod-482913", sku="inter_zone", qty=2048, weekend=0.8, noise=0.1, loc=USC1),
    dict(project="acme-prod-482913", sku="lb_rule", qty=1, loc=USC1),
    dict(project="acme-prod-482913", sku="gke_regional", qty=1, loc=USC1,
         labels={"env": "prod", "team": "platform"}),
    dict(project="acme-prod-482913", sku="log_storage", qty=8, weekend=0.7, noise=0.15, loc=GLOBAL,
         credit="free_tier"),
    # ---- acme-staging: pre-production ---------------------------------------
    dict(project="acme-staging-310577", sku="e2_core", qty=8, weekend=0.5, noise=0.1, loc=USC1B,
         labels={"env": "staging", "team": "platform"}),
    dict(project="acme-staging-310577", sku="e2_ram", qty=32, weekend=0.5, noise=0.1, loc=USC1B,
         labels={"env": "staging", "team": "platform"}),
    dict(project="acme-staging-310577", sku="pd", qty=1024, loc=USC1B,
         labels={"env": "staging", "team": "platform"}),
    dict(project="acme-staging-310577", sku="gcs_std_us", qty=3072, growth=0.02, noise=0.002, loc=US,
         labels={"env": "staging", "team": "platform"}),
    dict(project="acme-staging-310577", sku="gcs_class_a", qty=200_000, weekend=0.3, noise=0.2, loc=US,
         labels={"env": "staging", "team": "platform"}),
    dict(project="acme-staging-310577", sku="gcs_class_b", qty=1_000_000, weekend=0.3, noise=0.2, loc=US,
         labels={"env": "staging", "team": "platform"}),
    dict(project="acme-staging-310577", sku="sql_z_cpu", qty=2, loc=USC1,
         labels={"env": "staging", "team": "payments"}),
    dict(project="acme-staging-310577", sku="sql_z_ram", qty=8, loc=USC1,
         labels={"env": "staging", "team": "payments"}),
    dict(project="acme-staging-310577", sku="sql_z_disk", qty=100, loc=USC1,
         labels={"env": "staging", "team": "payments"}),
    dict(project="acme-staging-310577", sku="egress", qty=20, weekend=0.3, noise=0.2, loc=USC1),
    dict(project="acme-staging-310577", sku="inter_zone", qty=100, weekend=0.3, noise=0.2, loc=USC1),
    dict(project="acme-staging-310577", sku="gke_zonal", qty=1, loc=USC1B,
         labels={"env": "staging", "team": "platform"}, credit="free_tier"),
    dict(project="acme-staging-310577", sku="run_cpu", qty=100_000 / 86400, weekend=0.3, noise=0.2, loc=USC1,
         labels={"env": "staging", "team": "web"}, credit="free_tier"),
    dict(project="acme-staging-310577", sku="run_ram", qty=200_000 / 86400, weekend=0.3, noise=0.2, loc=USC1,
         labels={"env": "staging", "team": "web"}, credit="free_tier"),
    dict(project="acme-staging-310577", sku="run_requests", qty=500_000, weekend=0.3, noise=0.25, loc=USC1,
         labels={"env": "staging", "team": "web"}, credit="free_tier"),
    dict(project="acme-staging-310577", sku="log_storage", qty=1, weekend=0.5, noise=0.2, loc=GLOBAL,
         credit="free_tier"),
    # ---- acme-data: the analytics platform ----------------------------------
    dict(project="acme-data-771204", sku="bq_analysis", qty=4, weekend=0.35, noise=0.25, loc=US,
         spikes={17: 6.0}, labels={"env": "prod", "team": "data"}, credit="free_tier"),
    dict(project="acme-data-771204", sku="bq_active", qty=61440, growth=0.06, noise=0.002, loc=US,
         labels={"env": "prod", "team": "data"}),
    dict(project="acme-data-771204", sku="bq_long_term", qty=81920, growth=0.02, noise=0.001, loc=US,
         labels={"env": "prod", "team": "data"}),
    dict(project="acme-data-771204", sku="gcs_std_us", qty=15360, growth=0.05, noise=0.002, loc=US,
         labels={"env": "prod", "team": "data"}),
    dict(project="acme-data-771204", sku="gcs_cold_us", qty=81920, growth=0.03, noise=0.001, loc=US,
         labels={"env": "prod", "team": "data"}),
    dict(project="acme-data-771204", sku="gcs_class_a", qty=500_000, weekend=0.4, noise=0.2, loc=US,
         labels={"env": "prod", "team": "data"}),
    dict(project="acme-data-771204", sku="gcs_class_b", qty=5_000_000, weekend=0.4, noise=0.2, loc=US,
         labels={"env": "prod", "team": "data"}),
    dict(project="acme-data-771204", sku="e2_core", qty=16, weekend=0.4, noise=0.15, loc=USE1B,
         labels={"env": "prod", "team": "data"}),
    dict(project="acme-data-771204", sku="e2_ram", qty=64, weekend=0.4, noise=0.15, loc=USE1B,
         labels={"env": "prod", "team": "data"}),
    dict(project="acme-data-771204", sku="pd", qty=2048, growth=0.02, loc=USE1B,
         labels={"env": "prod", "team": "data"}),
    dict(project="acme-data-771204", sku="inter_zone", qty=500, weekend=0.4, noise=0.2, loc=USE1),
    dict(project="acme-data-771204", sku="log_storage", qty=3, weekend=0.6, noise=0.2, loc=GLOBAL,
         credit="free_tier"),
    # ---- acme-sandbox: developers' experiments ------------------------------
    dict(project="acme-sandbox-129856", sku="e2_core_emea", qty=10 * 4 / 24, weekend=0, noise=0.3,
         loc=EUW1B, labels={"env": "dev", "team": "web"}),
    dict(project="acme-sandbox-129856", sku="e2_ram_emea", qty=10 * 16 / 24, weekend=0, noise=0.3,
         loc=EUW1B, labels={"env": "dev", "team": "web"}),
    dict(project="acme-sandbox-129856", sku="pd_belgium", qty=200, loc=EUW1B,
         labels={"env": "dev", "team": "web"}),
    dict(project="acme-sandbox-129856", sku="run_cpu", qty=20_000 / 86400, weekend=0.2, noise=0.4, loc=EUW1,
         credit="free_tier"),
    dict(project="acme-sandbox-129856", sku="run_ram", qty=40_000 / 86400, weekend=0.2, noise=0.4, loc=EUW1,
         credit="free_tier"),
    dict(project="acme-sandbox-129856", sku="run_requests", qty=60_000, weekend=0.2, noise=0.4, loc=EUW1,
         credit="free_tier"),
    dict(project="acme-sandbox-129856", sku="bq_analysis", qty=0.2, weekend=0, noise=0.5, loc=US,
         credit="free_tier"),
    dict(project="acme-sandbox-129856", sku="gcs_std_eu", qty=500, growth=0.1, noise=0.002, loc=EU,
         labels={"env": "dev"}),
]

# ---- credits ------------------------------------------------------------------

# Committed use discount: what the commitment covers, per usage SKU
# (vCPUs or GiB held, continuously, in us-central1 for acme-prod).
CUD_COVER = {"e2_core": (16, "CPU"), "e2_ram": (64, "RAM")}

# Free tier allowances, in pricing units per month. Scope "account" is
# shared by every project of the billing account, "project" is per project.
FREE_TIER = {
    "run_cpu": ("account", Decimal(180_000) / 3600, "Cloud Run CPU allocation time"),
    "run_ram": ("account", Decimal(360_000) / 3600, "Cloud Run memory allocation time"),
    "run_requests": ("account", Decimal(2_000_000), "Cloud Run requests"),
    "bq_analysis": ("account", Decimal(1), "BigQuery analysis, first 1 TiB a month"),
    "log_storage": ("project", Decimal(50), "Cloud Logging, first 50 GiB a month"),
    # The GKE allowance is money: 74.40 USD a month for one zonal cluster.
    "gke_zonal": ("account", Decimal("74.40"), "Kubernetes Engine cluster management fee"),
}

Q6 = Decimal("0.000001")
Q9 = Decimal("0.000000001")


def q6(x):
    return x.quantize(Q6, rounding=ROUND_HALF_EVEN)


def money(x):
    """Six decimals, "-0.000000" normalised to "0.000000"."""
    x = q6(x)
    if x == 0:
        x = Decimal("0.000000")
    return f"{x:.6f}"


def plain(x):
    """A Decimal without exponent or trailing zeros."""
    s = f"{x:f}"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s or "0"


def ts(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def labels_json(labels):
    if not labels:
        return "[]"
    return json.dumps([{"key": k, "value": v} for k, v in labels.items()], separators=(",", ":"))


def credits_json(credits):
    parts = []
    for c in credits:
        parts.append(
            "{"
            + f'"name":{json.dumps(c["name"])},'
            + f'"amount":{money(c["amount"])},'
            + f'"full_name":{json.dumps(c["full_name"])},'
            + f'"id":{json.dumps(c["id"])},'
            + f'"type":{json.dumps(c["type"])}'
            + "}"
        )
    return "[" + ",".join(parts) + "]"


def sku_info(key):
    service, sku_id, desc, kind, price = SKUS[key]
    return service, sku_id or made_up_sku_id(desc), desc, kind, Decimal(price)


def quantity(line, rng, day, start):
    """Mean quantity over the row's window (see LINES)."""
    qty = Decimal(repr(line["qty"]))
    weekend = start.weekday() >= 5
    if line.get("hourly"):
        # N1 fleet: two always-on n1-standard-16, plus one n1-standard-8
        # during US business hours on weekdays.
        if not weekend and 13 <= start.hour < 22:
            extra = Decimal(8) if line["sku"] == "n1_core" else Decimal(30)
            qty += extra
        return qty
    factor = Decimal(1)
    if weekend:
        factor *= Decimal(repr(line.get("weekend", 1)))
    growth = line.get("growth", 0)
    if growth:
        factor *= 1 + Decimal(repr(growth)) * Decimal(day - 1) / Decimal(DAYS - 1)
    noise = line.get("noise", 0)
    if noise:
        r = Decimal(repr(round(rng.random(), 6)))
        factor *= 1 + Decimal(repr(noise)) * (2 * r - 1)
    factor *= Decimal(repr(line.get("spikes", {}).get(day, 1)))
    return qty * factor


def usage_amount(kind, qty, seconds):
    """usage.amount (an integer in the export's usage unit) for a window."""
    if kind in ("vcpu_hour", "hour"):
        v = qty * seconds
    elif kind in ("gib_hour", "gib_month"):
        v = qty * GIB * seconds
    elif kind == "gib":
        v = qty * GIB
    elif kind == "tib":
        v = qty * TIB
    else:  # count
        v = qty
    n = int(v.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    # Daily byte-second totals are large; keep every value an int64 so a
    # loader may read the column as INT64 or FLOAT64 alike.
    assert 0 <= n < 2**63, (kind, qty, n)
    return n


def build_rows():
    rows = []
    for order, line in enumerate(LINES):
        rng = random.Random(f"{SEED}:{line['project']}:{line['sku']}")
        service, sku_id, desc, kind, price = sku_info(line["sku"])
        unit, pricing_unit, per = UNITS[kind]
        windows = []
        if line.get("hourly"):
            windows = [MONTH_START + dt.timedelta(hours=h) for h in range(HOURS)]
            step = dt.timedelta(hours=1)
        else:
            windows = [MONTH_START + dt.timedelta(days=d) for d in range(DAYS)]
            step = dt.timedelta(days=1)
        for index, start in enumerate(windows):
            day = start.day
            qty = quantity(line, rng, day, start)
            # Draw the export delay whether or not the row is kept, so a row
            # dropped at weekends does not shift the following rows' numbers.
            delay = dt.timedelta(minutes=90 + rng.randrange(0, 300), seconds=rng.randrange(0, 60))
            if qty <= 0:
                continue
            seconds = int(step.total_seconds())
            amount = usage_amount(kind, qty, seconds)
            pricing_units = Decimal(amount) / Decimal(per)
            list_cost = pricing_units * price
            cost = list_cost * (1 - CONTRACT_DISCOUNT.get(service, Decimal(0)))
            rows.append(
                dict(
                    line=line,
                    order=order,
                    hour_index=index if line.get("hourly") else None,
                    service=service,
                    sku_key=line["sku"],
                    sku_id=sku_id,
                    sku_description=desc,
                    start=start,
                    end=start + step,
                    export=start + step + delay,
                    amount=amount,
                    unit=unit,
                    pricing_units=pricing_units,
                    pricing_unit=pricing_unit,
                    price=price,
                    cost=q6(cost),
                    cost_at_list=q6(list_cost),
                    seconds=seconds,
                    credits=[],
                )
            )
    return rows


def apply_credits(rows):
    # Time order, then project, then line: free tiers are used up in this order.
    rows.sort(key=lambda r: (r["start"], PROJECT_ORDER[r["line"]["project"]], r["order"]))
    left = {}
    for r in rows:
        kind = r["line"].get("credit")
        if kind == "sud":
            # N1 sustained use discount: each quarter of the month a resource
            # runs is billed at 100%, 80%, 60%, then 40% of the base rate.
            quarter = min(r["hour_index"] * 4 // HOURS, 3)
            rate = [Decimal("0"), Decimal("0.2"), Decimal("0.4"), Decimal("0.6")][quarter]
            if rate:
                r["credits"].append(
                    dict(
                        name="Sustained Usage Discount",
                        amount=-q6(r["cost"] * rate),
                        full_name="Sustained use discount",
                        id="Sustained Usage Discount",
                        type="SUSTAINED_USAGE_DISCOUNT",
                    )
                )
        elif kind == "cud":
            units, what = CUD_COVER[r["sku_key"]]
            per = UNITS[SKUS[r["sku_key"]][3]][2]
            covered = min(Decimal(r["amount"]), Decimal(units) * r["seconds"] * (GIB if what == "RAM" else 1))
            r["credits"].append(
                dict(
                    name=f"Committed Usage Discount: {what}",
                    amount=-q6(covered / Decimal(per) * r["price"]),
                    full_name=f"Committed use discount: E2 {what}, 1 year, us-central1",
                    id=f"Committed Usage Discount: {what}",
                    type="COMMITTED_USAGE_DISCOUNT",
                )
            )
        elif kind == "free_tier":
            scope, allowance, what = FREE_TIER[r["sku_key"]]
            key = (r["sku_key"], r["line"]["project"] if scope == "project" else "*")
            remaining = left.get(key, allowance)
            if remaining <= 0:
                continue
            if r["sku_key"] == "gke_zonal":
                amount = min(remaining, r["cost"])
                left[key] = remaining - amount
            else:
                used = min(remaining, r["pricing_units"])
                left[key] = remaining - used
                amount = used * r["price"]
            amount = q6(amount)
            if amount > 0:
                r["credits"].append(
                    dict(
                        name="Free Tier",
                        amount=-amount,
                        full_name=f"Free tier: {what}",
                        id="Free Tier",
                        type="FREE_TIER",
                    )
                )


def to_record(r):
    project = next(p for p in PROJECTS if p[0] == r["line"]["project"])
    location, country, region, zone = r["line"]["loc"]
    service_id, service_description = SERVICES[r["service"]]
    return {
        "billing_account_id": BILLING_ACCOUNT_ID,
        "service_id": service_id,
        "service_description": service_description,
        "sku_id": r["sku_id"],
        "sku_description": r["sku_description"],
        "usage_start_time": ts(r["start"]),
        "usage_end_time": ts(r["end"]),
        "project_id": project[0],
        "project_number": project[1],
        "project_name": project[2],
        "labels": labels_json(r["line"].get("labels")),
        "location_location": location,
        "location_country": country or "",
        "location_region": region or "",
        "location_zone": zone or "",
        "export_time": ts(r["export"]),
        "cost": money(r["cost"]),
        "currency": "USD",
        "currency_conversion_rate": "1",
        "usage_amount": str(r["amount"]),
        "usage_unit": r["unit"],
        "usage_amount_in_pricing_units": plain(r["pricing_units"].quantize(Q9, rounding=ROUND_HALF_EVEN)),
        "usage_pricing_unit": r["pricing_unit"],
        "credits": credits_json(r["credits"]),
        "invoice_month": INVOICE_MONTH,
        "cost_type": "regular",
        "cost_at_list": money(r["cost_at_list"]),
    }


def render(records):
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    w.writeheader()
    for rec in records:
        w.writerow(rec)
    return buf.getvalue().encode("ascii")


def summary(rows, records, size):
    out = []
    credit = lambda r: sum((c["amount"] for c in r["credits"]), Decimal(0))  # noqa: E731
    total_cost = sum((r["cost"] for r in rows), Decimal(0))
    total_credits = sum((credit(r) for r in rows), Decimal(0))
    total_list = sum((r["cost_at_list"] for r in rows), Decimal(0))
    out.append(f"rows: {len(records)} (plus the header line), {size} bytes")
    out.append(f"usage days: {ts(rows[0]['start'])} .. {ts(max(r['end'] for r in rows))}")
    out.append("")
    out.append(f"{'project_id':<22}{'rows':>6}{'cost':>16}{'credits':>16}{'net':>16}{'cost_at_list':>16}")
    for pid, _, _ in PROJECTS:
        pr = [r for r in rows if r["line"]["project"] == pid]
        c = sum((r["cost"] for r in pr), Decimal(0))
        k = sum((credit(r) for r in pr), Decimal(0))
        lst = sum((r["cost_at_list"] for r in pr), Decimal(0))
        out.append(f"{pid:<22}{len(pr):>6}{money(c):>16}{money(k):>16}{money(c + k):>16}{money(lst):>16}")
    out.append(
        f"{'total':<22}{len(rows):>6}{money(total_cost):>16}{money(total_credits):>16}"
        f"{money(total_cost + total_credits):>16}{money(total_list):>16}"
    )
    out.append("")
    out.append(f"{'service_description':<22}{'rows':>6}{'cost':>16}{'credits':>16}{'net':>16}")
    for key, (_, name) in sorted(SERVICES.items(), key=lambda kv: kv[1][1]):
        sr = [r for r in rows if r["service"] == key]
        c = sum((r["cost"] for r in sr), Decimal(0))
        k = sum((credit(r) for r in sr), Decimal(0))
        out.append(f"{name:<22}{len(sr):>6}{money(c):>16}{money(k):>16}{money(c + k):>16}")
    out.append("")
    out.append(f"{'credits.type':<36}{'amount':>16}")
    types = {}
    for r in rows:
        for c in r["credits"]:
            types[c["type"]] = types.get(c["type"], Decimal(0)) + c["amount"]
    for t in sorted(types):
        out.append(f"{t:<36}{money(types[t]):>16}")
    out.append("")
    out.append("by day of usage_start_time (UTC):")
    out.append(f"{'day':<12}{'rows':>6}{'cost':>16}{'credits':>16}{'net':>16}")
    for d in range(DAYS):
        day = (MONTH_START + dt.timedelta(days=d)).date()
        dr = [r for r in rows if r["start"].date() == day]
        c = sum((r["cost"] for r in dr), Decimal(0))
        k = sum((credit(r) for r in dr), Decimal(0))
        out.append(f"{day.isoformat():<12}{len(dr):>6}{money(c):>16}{money(k):>16}{money(c + k):>16}")
    out.append("")
    out.append("by week (days inclusive):")
    for a, b in ((1, 7), (8, 14), (15, 21), (22, 28), (29, 30)):
        dr = [r for r in rows if a <= r["start"].day <= b]
        c = sum((r["cost"] for r in dr), Decimal(0))
        k = sum((credit(r) for r in dr), Decimal(0))
        out.append(f"2026-11-{a:02d}..2026-11-{b:02d}{len(dr):>6}{money(c):>16}{money(k):>16}{money(c + k):>16}")
    return "\n".join(out) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Write a deterministic sample Google Cloud billing export (November 2026) as CSV."
    )
    ap.add_argument("--out", metavar="PATH", help="write the CSV here instead of to stdout")
    ap.add_argument("--quiet", action="store_true", help="do not print the summary on stderr")
    args = ap.parse_args(argv)

    rows = build_rows()
    apply_credits(rows)
    rows.sort(
        key=lambda r: (
            r["start"],
            r["line"]["project"],
            SERVICES[r["service"]][1],
            r["sku_description"],
        )
    )
    records = [to_record(r) for r in rows]
    data = render(records)
    if args.out:
        with open(args.out, "wb") as f:
            f.write(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    if not args.quiet:
        sys.stderr.write(summary(rows, records, len(data)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
