{% snapshot snap_org_units %}
{{ config(unique_key='unit_code', strategy='check',
          check_cols=['unit_name', 'unit_level', 'unit_type', 'parent_code', 'valid_from', 'valid_to'],
          invalidate_hard_deletes=True) }}

select unit_code, unit_name, unit_level, unit_type, parent_code, valid_from, valid_to
from {{ ref('stg_raw__org_units') }}

{% endsnapshot %}
