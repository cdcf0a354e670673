{{ config(post_hook="{{ copy_column_comments(ref('fct_indicator_rollup')) }}") }}

{{ bi_view('fct_indicator_rollup') }}
