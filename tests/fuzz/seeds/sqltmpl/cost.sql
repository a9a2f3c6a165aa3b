SELECT substr(usage_start_time, 1, 10) AS usage_date, {run_id} AS id,
       round(sum(cost), 6) AS cost -- {not_a_var} in a comment
FROM {tenant_id}.gcp_billing_export
WHERE substr(usage_start_time, 1, 10) = '{date}' AND n < {n}
GROUP BY 1 /* {x} */;
