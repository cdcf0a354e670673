{{ config(post_hook="{{ copy_column_comments(ref('fct_finance')) }}") }}

{{ bi_view('fct_finance') }}
