{{ config(post_hook="{{ copy_column_comments(ref('fct_indicator_value')) }}") }}

{{ bi_view('fct_indicator_value') }}
