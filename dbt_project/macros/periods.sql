{#- Quarters and validity windows, written once: dim_period and the marts call these macros, and
    the rule engines render the same macros from this file (ingestion/domain.py), so the SQL the
    gate runs and the dates Python computes (checked against each other in tests/test_domain.py)
    cannot drift apart. Plain Jinja only here: no dbt function (ingestion/domain.py renders it). -#}

{#- The first day of a quarter. -#}
{% macro quarter_start(year, quarter) -%}
    make_date({{ year }}, {{ quarter }} * 3 - 2, 1)
{%- endmacro %}

{#- The last day of a quarter: the day a unit must exist on to be expected. -#}
{% macro quarter_end(year, quarter) -%}
    (make_date({{ year }}, {{ quarter }} * 3, 1) + interval '1 month' - interval '1 day')::date
{%- endmacro %}

{#- Nghị định 09's reporting window: from the 15th of the month before the quarter ... -#}
{% macro cutoff_start(year, quarter) -%}
    (make_date({{ year }}, {{ quarter }} * 3 - 2, 15) - interval '1 month')::date
{%- endmacro %}

{#- ... to the 14th of the quarter's last month. -#}
{% macro cutoff_end(year, quarter) -%}
    make_date({{ year }}, {{ quarter }} * 3, 14)
{%- endmacro %}

{#- A registry row (its valid_from and valid_to; empty: open) exists on `day`. -#}
{% macro valid_on(unit, day) -%}
    (({{ unit }}.valid_from is null or {{ unit }}.valid_from <= {{ day }})
     and ({{ unit }}.valid_to is null or {{ unit }}.valid_to >= {{ day }}))
{%- endmacro %}
