{{ config(post_hook="{{ copy_column_comments(ref('fct_tthc_processing')) }}") }}

{{ bi_view('fct_tthc_processing') }}
