{{ config(post_hook="{{ copy_column_comments(ref('fct_reporting_completeness')) }}") }}

{{ bi_view('fct_reporting_completeness', unit_column='province_code') }}
